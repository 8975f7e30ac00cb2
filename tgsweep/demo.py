"""`tgsweep demo`: the whole pipeline, offline, against a synthetic Telegram on 127.0.0.1.

The corpus (tgsweep.demo_corpus) is benign text and pictures made here; it is served in
t.me/s format by a real HTTP server, swept by the real spider into a fresh database, then
swept again after new posts appear (to show the incremental cursor), exported and verified.
"""
from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console

from crawler.records import Post
from crawler.store import Store
from crawler.web_sweep import run_async
from graph.exports import export_messages
from tgsweep.config import load_config
from tgsweep.demo_corpus import build_demo_world, demo_watchlist
from tgsweep.sweep import SweepResult, print_summary, sweep_once
from tgsweep.tme_server import TmeServer

FAULTS = [  # what real t.me does to a busy client, once each, to show the sweep riding it out
    ("/s/faceswap_hub", {"status": 429, "retry_after": 1}),
    ("/s/neural_pics", {"status": 502}),
    ("/s/meme_relay", {"empty": True}),
]


def demo_config(folder: Path, base_url: str) -> str:
    channels = ", ".join(f'"{c}"' for c in demo_watchlist())
    return f"""# written by `tgsweep demo`: a synthetic Telegram on loopback
[storage]
database = "tgsweep.db"
media_dir = "media"

[web]
base_url = "{base_url}"
request_delay = 0.0
backoff = 0.2

[watch]
channels = [{channels}]

[discovery]
enabled = true
max_depth = 1
"""


def run_demo(folder: Path | None, console: Console) -> int:
    folder = folder or Path(tempfile.mkdtemp(prefix="tgsweep-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    world = build_demo_world()
    with TmeServer(world) as server:
        base_url = server.base_url
        config_file = folder / "config.toml"
        config_file.write_text(demo_config(folder, base_url), encoding="utf-8")
        config = load_config(config_file)
        for path, fault in FAULTS:
            server.add_faults(path, fault)
        console.print(f"synthetic Telegram serving {len(world.entities)} names at {base_url}")

        async def both() -> tuple[SweepResult, SweepResult, int]:
            first = await sweep_once(config, progress=True)
            newest = max(p.id for p in world.get("faceswap_hub").posts)
            server.add_post(Post(channel="faceswap_hub", id=newest + 1, date="2026-11-21T09:00:00+00:00",
                                 text="New here? Our helper is back: @photo_magic_helper_bot"))
            server.clear_requests()
            second = await sweep_once(config, progress=True)
            return first, second, len(server.requests("/s/"))

        first, second, second_pages = run_async(both)
    console.print("\n[1] first sweep")
    print_summary(first, console)
    console.print(f"\n[2] second sweep, after one new post was published: {second.stats.new_posts} new post(s), "
                  f"{second_pages} feed page request(s) for {len(second.stats.channels)} channels")
    messages = folder / "messages.jsonl"
    counts = asyncio.run(_export_and_verify(config, messages))
    console.print(f"\n[3] exported {counts['messages']} messages to {messages}")
    console.print(f"    bots referenced: {', '.join(counts['bots'])}")
    for username, label, score, reasons in counts["verdicts"]:
        console.print(f"      @{username}: {label} ({score:.2f}): {'; '.join(json.loads(reasons or '[]')[:3])}")
    for bot, predecessor, evidence in counts["mirrors"]:
        console.print(f"      @{bot} mirror of @{predecessor}: {evidence}")
    reasons = ", ".join(f"{n} {why}" for why, n in counts["media_errors"].most_common())
    console.print(f"    media: {counts['media_ok']} items fingerprinted; recorded without hashes: {reasons}")
    console.print(f"    custody chain: {counts['custody']} entries, "
                  f"{'verified' if counts['verified'] else 'NOT VERIFIED'}")
    console.print(f"\noutputs in {folder}:\n  config   {config_file}\n  database {config.storage.database}\n"
                  f"  media    {config.storage.media_dir}\n  messages {messages}\n"
                  f"try: tgsweep --config {config_file} export messages | head -3")
    return 0 if counts["verified"] else 1


async def _export_and_verify(config, messages: Path) -> dict:
    store = await Store.open(config.storage.database)
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
        bots = [r[0] for r in await store.fetchall(
            "SELECT username FROM bots WHERE confirmed=1 ORDER BY username")]
        verdicts = [tuple(r) for r in await store.fetchall(
            "SELECT username, label, score, reasons FROM bots WHERE confirmed=1 ORDER BY score DESC, username")]
        mirrors = [tuple(r) for r in await store.fetchall(
            "SELECT bot, predecessor, min(evidence) FROM bot_mirrors GROUP BY bot, predecessor ORDER BY bot")]
        report = await store.verify(config.storage.media_dir)
    finally:
        await store.close()
    return {"messages": n, "media_ok": ok, "media_errors": errors,
            "bots": bots, "verdicts": verdicts, "mirrors": mirrors, "custody": report.entries, "verified": report.ok}
