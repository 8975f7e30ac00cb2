"""`tgsweep demo`: the whole pipeline, offline, against a synthetic Telegram on 127.0.0.1.

The corpus (tgsweep.demo.corpus) is benign text and pictures made here; it is served in
t.me/s format by a real HTTP server, swept by the real spider into a fresh database, then
swept again after new posts appear (to show the incremental cursor), exported and verified.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console

from crawler.web.stage import run_async
from detectors.media.banks import import_bank, parse_hash_csv
from graph.exports import export_messages
from store.records import Post
from store import open_store
from tgsweep.config import load_config
from tgsweep.demo.corpus import SHARED_PICTURE, build_demo_world, demo_watchlist
from tgsweep.demo.tme_server import TmeServer
from tgsweep.sweep import SweepResult, print_summary, sweep_once

FAULTS = [  # what real t.me does to a busy client, once each, to show the sweep riding it out
    ("/s/faceswap_hub", {"status": 429, "retry_after": 1}),
    ("/s/neural_pics", {"status": 502}),
    ("/s/meme_relay", {"empty": True}),
]


def known_content_csv(world) -> str:
    """A hash list as a case or a victim would hand it over: here, the demo's most shared picture."""
    from detectors.media.fingerprints import fingerprint

    original = fingerprint(world.files[SHARED_PICTURE[0]])
    return ("hash_type,hash,label\n"
            f"pdq,{original.pdq},synthetic stand-in for a known image\n"
            f"md5,{hashlib.md5(world.files['shared_b.png']).hexdigest()},synthetic stand-in, exact copy\n")


REVIEWED_BOT = "swapface_magic2_bot"


async def analyst_review(config) -> None:
    """An analyst's decision between sweeps: a verdict no later automatic score overwrites."""
    from detectors.bots.stage import set_override
    from store.alerts import alert_settings

    store = await open_store(config.storage.database, config.storage.url_value)
    try:
        await set_override(store, REVIEWED_BOT, "deepfake_generator",
                           "demo: face-swap bot promoted with referral codes, mirror of a banned bot",
                           "demo analyst", alert_settings(config))
    finally:
        await store.close()


def demo_config(folder: Path, base_url: str, store_url: str | None = None) -> str:
    channels = ", ".join(f'"{c}"' for c in demo_watchlist())
    url = f'url = "{store_url}"\n' if store_url else ""
    return f"""# written by `tgsweep demo`: a synthetic Telegram on loopback
[storage]
database = "tgsweep.db"
media_dir = "media"
{url}
[web]
base_url = "{base_url}"
request_delay = 0.0
backoff = 0.2

[watch]
channels = [{channels}]

[discovery]
enabled = true
max_depth = 1

[[alerts.sinks]]
type = "jsonl"
path = "alerts.jsonl"
"""


def run_demo(folder: Path | None, console: Console, store_url: str | None = None) -> int:
    """The demo; with `store_url`, on that PostgreSQL database instead of a SQLite file."""
    folder = folder or Path(tempfile.mkdtemp(prefix="tgsweep-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    world = build_demo_world()
    with TmeServer(world) as server:
        base_url = server.base_url
        config_file = folder / "config.toml"
        config_file.write_text(demo_config(folder, base_url, store_url), encoding="utf-8")
        config = load_config(config_file)
        for path, fault in FAULTS:
            server.add_faults(path, fault)
        console.print(f"synthetic Telegram serving {len(world.entities)} names at {base_url}")

        bank_csv = folder / "known_content.csv"
        bank_csv.write_text(known_content_csv(world), encoding="utf-8")

        async def both() -> tuple[SweepResult, SweepResult, int]:
            store = await open_store(config.storage.database, config.storage.url_value)
            try:
                await import_bank(store, "demo_case", parse_hash_csv(bank_csv.read_text()), str(bank_csv))
            finally:
                await store.close()
            first = await sweep_once(config, progress=True)
            await analyst_review(config)
            newest = max(p.id for p in world.get("faceswap_hub").posts)
            server.add_post(Post(channel="faceswap_hub", id=newest + 1, date="2026-11-21T09:00:00+00:00",
                                 text="New here? Our helper is back: @photo_magic_helper_bot"))
            server.clear_requests()
            second = await sweep_once(config, progress=True)
            return first, second, len(server.requests("/s/"))

        first, second, second_pages = run_async(both)
    console.print("\n[1] first sweep")
    print_summary(first, console)
    console.print(f"\n[2] an analyst reviews @{REVIEWED_BOT} (scored unknown: the classifier holds back) and confirms "
                  f"it as deepfake_generator, the same as `tgsweep bots label`: its alerts are written with the decision, "
                  f"and the next sweep delivers them")
    console.print(f"\n[3] second sweep, after one new post was published: {second.stats.new_posts} new post(s), "
                  f"{second_pages} feed page request(s) for {len(second.stats.channels)} channels")
    messages = folder / "messages.jsonl"
    counts = asyncio.run(_export_and_verify(config, messages))
    console.print(f"\n[4] exported {counts['messages']} messages to {messages}")
    console.print(f"    bots referenced: {', '.join(counts['bots'])}")
    for username, label, score, reasons in counts["verdicts"]:
        console.print(f"      @{username}: {label} ({score:.2f}): {'; '.join(json.loads(reasons or '[]')[:3])}")
    for bot, predecessor, evidence in counts["mirrors"]:
        console.print(f"      @{bot} mirror of @{predecessor}: {evidence}")
    for channel, post, tier, distance, via in counts["bank_matches"]:
        console.print(f"    known content (bank demo_case) found again: {channel}/{post}: {tier}, PDQ distance "
                      f"{distance} ({via})")
    for cluster, origin, channels in counts["clusters"]:
        console.print(f"    repost cluster {cluster}: origin candidate {origin}, seen in {', '.join(channels)}")
    reasons = ", ".join(f"{n} {why}" for why, n in counts["media_errors"].most_common())
    console.print(f"    media: {counts['media_ok']} media items stored with hashes; without: {reasons}")
    console.print(f"    custody chain: {counts['custody']} entries, "
                  f"{'verified' if counts['verified'] else 'NOT VERIFIED'}")
    from tgsweep.demo.outputs import evidence_outputs, graph_outputs

    for line in graph_outputs(config, folder):
        console.print(f"    {line}")
    for line in evidence_outputs(config, folder):
        console.print(f"    {line}")
    alerts_file = config.alerts.sinks[0].path
    lines = alerts_file.read_text(encoding="utf-8").splitlines() if alerts_file.exists() else []
    kinds = Counter(json.loads(line)["type"] for line in lines)
    console.print(f"    {len(lines)} alerts written to {alerts_file}"
                  + (f" ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})" if kinds else "")
                  + "; `tgsweep alerts list` shows them with their delivery state")
    database = "PostgreSQL (config's [storage] url)" if store_url else config.storage.database
    console.print(f"\noutputs in {folder}:\n  config   {config_file}\n  database {database}\n"
                  f"  media    {config.storage.media_dir}\n  messages {messages}\n"
                  f"try: tgsweep --config {config_file} export messages | head -3")
    return 0 if counts["verified"] else 1


async def _export_and_verify(config, messages: Path) -> dict:
    store = await open_store(config.storage.database, config.storage.url_value)
    try:
        n, ok, errors = 0, 0, Counter()
        with messages.open("w", encoding="utf-8") as handle:
            async for message in export_messages(store):
                handle.write(json.dumps(message, ensure_ascii=False) + "\n")
                n += 1
                for item in message["media"]:
                    if "error" in item:
                        errors[item["error"].split(":")[0].split(" (")[0]] += 1
                    else:
                        ok += 1
        rows = await store.demo_summary_rows()
        bots = [r[0] for r in rows["bots"]]
        verdicts, mirrors, matches = rows["verdicts"], rows["mirrors"], rows["matches"]
        clusters = [(r[0], f"{r[1]}/{r[2]}", json.loads(r[3])) for r in rows["clusters"]]
        report = await store.verify(config.storage.media_dir)
    finally:
        await store.close()
    return {"messages": n, "media_ok": ok, "media_errors": errors,
            "bank_matches": matches, "clusters": clusters, "bots": bots, "verdicts": verdicts, "mirrors": mirrors, "custody": report.entries, "verified": report.ok}
