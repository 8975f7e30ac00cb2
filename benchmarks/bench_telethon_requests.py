"""Telegram API requests per 1,000 new messages: our Telethon collector against telegram-tracker's pattern.

    python benchmarks/bench_telethon_requests.py [--channels 10] [--sweeps 10]

Offline: both run against the same FakeTelegram (tests/crawler/telethon_fakes.py: real Telethon
objects, every request counted). For n = 1,000 and 10,000 new messages, spread evenly over
`--channels` channels and `--sweeps` sweeps (an hour apart, so within profile_refresh_hours):

- ours: the real `sweep_telethon` into a real Store: cached entities, GetFullChannel once per
  profile_refresh_hours, `iter_messages(min_id=cursor, reverse=True)` in pages of 100;
- baseline `telegram-tracker` (estebanpdl/telegram-tracker main.py, best case with --min-id): on
  every run, for every channel, get_entity (ResolveUsername) + GetFullChannelRequest + GetHistory
  limit 100 from min_id, paging until an empty page.

Media downloads are off for both (they would cost the same). Requests, not time, are measured,
so the shared machine does not change the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telethon import functions, types  # noqa: E402
from telethon.tl.types import messages as tl_messages  # noqa: E402

from store.sqlite import Store  # noqa: E402
from crawler.telethon.collect import sweep_telethon  # noqa: E402
from tests.crawler.telethon_fakes import FakeChannel, FakeTelegram, channel, message  # noqa: E402
from tgsweep.config import parse_config  # noqa: E402


class TrackerTelegram(FakeTelegram):
    """FakeTelegram that also answers the raw GetHistoryRequest telegram-tracker sends."""

    async def __call__(self, request):
        if isinstance(request, functions.messages.GetHistoryRequest):
            self.calls["history"] += 1
            chan = self._channel_of(request.peer)
            newer = [m for m in chan.messages if m.id > request.min_id
                     and (not request.offset_id or m.id < request.offset_id)]
            page = sorted(newer, key=lambda m: -m.id)[:request.limit]
            return tl_messages.ChannelMessages(pts=1, count=len(chan.messages), messages=page, chats=[chan.entity], topics=[],
                                               users=[])
        return await super().__call__(request)


async def tracker_run(tg: TrackerTelegram, names: list[str], min_ids: dict[str, int]) -> None:
    """One telegram-tracker run: entity, full channel, then history pages until an empty one."""
    for name in names:
        entity = await tg.get_entity(name)
        peer = types.InputPeerChannel(entity.id, entity.access_hash)
        await tg(functions.channels.GetFullChannelRequest(types.InputChannel(entity.id, entity.access_hash)))
        offset, newest = 0, min_ids[name]
        while True:
            page = await tg(functions.messages.GetHistoryRequest(peer=peer, offset_id=offset, offset_date=None,
                                                                 add_offset=0, limit=100, max_id=0,
                                                                 min_id=min_ids[name], hash=0))
            if not page.messages:
                break
            newest = max(newest, max(m.id for m in page.messages))
            offset = min(m.id for m in page.messages)
        min_ids[name] = newest


def world(channels: int) -> tuple[list[str], dict[str, FakeChannel]]:
    names = [f"bench_channel_{i:02d}" for i in range(channels)]
    return names, {n: FakeChannel(channel(1_700_000_000 + i, n)) for i, n in enumerate(names)}


async def measure(n: int, channels: int, sweeps: int) -> dict[str, Counter]:
    per = n // (channels * sweeps)
    names, ours_channels = world(channels)
    ours, tracker = FakeTelegram(), TrackerTelegram()
    _, tracker_channels = world(channels)
    for name in names:
        ours.add_channel(ours_channels[name])
        tracker.add_channel(tracker_channels[name])
    min_ids = {name: 0 for name in names}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        text = (f'[storage]\ndatabase = "db.sqlite"\n[watch]\nchannels = {json.dumps(names)}\n[media]\ndownload = false\n'
                '[telethon]\napi_id = 1\napi_hash = "0123456789abcdef"\n')
        path.write_text(text)
        config = parse_config(text, path, env={})
        store = await Store.open(config.storage.database)
        try:
            for _sweep in range(sweeps):
                for name in names:
                    for fake in (ours_channels[name], tracker_channels[name]):
                        start = len(fake.messages) + 1
                        fake.messages += [message(fake.entity.id, i, f"post {i}") for i in range(start, start + per)]
                await sweep_telethon(config, store, ours, None)
                await tracker_run(tracker, names, min_ids)
            stored = (await store.fetchone("SELECT count(*) FROM posts"))[0]
        finally:
            await store.close()
    assert stored == per * channels * sweeps, stored
    return {"ours": ours.calls, "tracker": tracker.calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--sweeps", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.channels} channels, {args.sweeps} sweeps an hour apart; media off; requests counted offline")
    print(f"{'new messages':>12}  {'who':<18} {'history':>7} {'resolve':>7} {'fullch':>6} {'total':>6} {'per 1,000':>9}")
    failed = False
    for n in (1_000, 10_000):
        calls = asyncio.run(measure(n, args.channels, args.sweeps))
        per = n // (args.channels * args.sweeps)
        floor = args.channels * args.sweeps * (per // 100 + 1)  # Telethon stops on a short page: k//100 + 1
        ours = calls["ours"]
        if ours["resolve"] > args.channels or ours["history"] > floor or ours["full_channel"] > args.channels:
            print(f"REQUIREMENT NOT MET at n={n}: {dict(ours)} (history at most {floor}, "
                  f"resolve and GetFullChannel at most once per channel)")
            failed = True
        totals = {}
        for who, label in (("ours", "tgsweep"), ("tracker", "telegram-tracker")):
            c = calls[who]
            total = c["history"] + c["resolve"] + c["full_channel"] + c["full_user"]
            totals[who] = total
            print(f"{n:>12,}  {label:<18} {c['history']:>7} {c['resolve']:>7} {c['full_channel']:>6} {total:>6} "
                  f"{1000 * total / n:>9.1f}")
        print(f"{'':>12}  {'ratio':<18} {'':>7} {'':>7} {'':>6} {'':>6} {totals['tracker'] / totals['ours']:>8.2f}x "
              f"fewer requests (floor for history alone: {-(-n // 100)} = ceil(n/100))")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
