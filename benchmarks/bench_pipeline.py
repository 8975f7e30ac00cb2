"""Every stage at scale: a real sweep of a 20,000-channel world, then each later stage and the
explorer's cold start, timed against the collection of the same posts, at N and 2N posts.

    python benchmarks/bench_pipeline.py                    # the requirement: 1,000,000 and 2,000,000 posts
    python benchmarks/bench_pipeline.py --posts 100000     # a quick look

The world (benchmarks/bench_sweep.build_world): 20,000 channels of news-like text posts with links
and mentions, and a spam network: 2,000 of the channels post one giveaway text (each copy with its
own referral code) as half of their posts. It is served by `python -m tgsweep.demo.tme_server` in a
subprocess, every page fetched once first so the server's render cache is warm.

What runs: `tgsweep sweep --no-progress` in its own process on a new database (media download
off: the world has no media, so enrich only reads the store), as a unit runs it. The collection's
seconds are the sweep's own (sweeps.stats.seconds); each later stage's are the sweep's log lines
("<stage> stage: S s", tgsweep/sweep.py). Then `tgsweep serve` on the same store, and the seconds
from its start until the first `/api/graph` has answered (the explorer's cold start).

Baseline, named `collection`: the same sweep's collection of the same posts. Requirements (the
issue): every later stage, and the explorer's cold start, at most the collection time; 2x the posts
costs at most 2.2x the time for each. Exit 1 when one is not met, 2 when a run breaks.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_explorer import start_server  # noqa: E402
from bench_stages import CHANNELS, SPAM, SPAM_CHANNELS  # noqa: E402  (the same world as the automation core's)
from bench_sweep import REPO, Server, _config_text, build_world, fetch_loop, run_measured  # noqa: E402

STAGES = ("enrich", "detect", "automation", "graph", "deliver")
MAX_RATIO = 2.2


def spam_world(posts: int, seed: int = 11):
    """bench_sweep's world over 20,000 channels, with the spam network written into it."""
    from tgsweep.demo.tme_server import fill_text_entities

    per, extra = divmod(posts, CHANNELS)
    sizes = {f"feed_{i:05d}": per + (1 if i < extra else 0) for i in range(CHANNELS)}
    world = build_world(sizes)
    rng = random.Random(seed)
    for i in range(SPAM_CHANNELS):
        for post in world.entities[f"feed_{i:05d}"].posts:
            if rng.random() < 0.5:
                post.text = f"{SPAM} ref{rng.randrange(10 ** 6)}"
                fill_text_entities(post)
    return world, list(sizes)


def warm(base_url: str, channels: list[str]) -> int:
    """Fetch every page once, 16 channels at a time, so the server's render cache is full."""
    with ThreadPoolExecutor(16) as pool:
        return sum(pages for _, pages in pool.map(lambda c: fetch_loop(base_url, [c], parse=False), channels))


def run(posts: int, workdir: Path) -> dict[str, float]:
    """World, server, sweep, stages, explorer: the seconds of each."""
    from tgsweep.demo.tme_server import world_to_json

    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world, channels = spam_world(posts)
    world_file = workdir / "world.json"
    world_file.write_text(world_to_json(world), encoding="utf-8")
    del world
    print(f"  world: {posts:,} posts in {len(channels):,} channels, built in {time.perf_counter() - t0:.0f} s",
          flush=True)
    server = Server(world_file)
    try:
        t0 = time.perf_counter()
        pages = warm(server.url, channels)
        print(f"  warm-up: {pages:,} pages in {time.perf_counter() - t0:.0f} s", flush=True)
        db = workdir / "tgsweep.db"
        config = workdir / "config.toml"
        config.write_text(_config_text(db, server.url, channels, 16).replace('level = "WARNING"', 'level = "INFO"'),
                          encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        m = run_measured([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "sweep", "--no-progress"],
                         server.proc.pid, env=env, timeout=4 * 3600)
    finally:
        server.stop()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        status, stats = conn.execute("SELECT status, stats FROM sweeps ORDER BY id DESC LIMIT 1").fetchone()
    if stored != posts or status != "ok":
        raise RuntimeError(f"sweep stored {stored} posts of {posts}, status {status}\n{m.stderr[-3000:]}")
    seconds = {"collection": json.loads(stats)["seconds"]}
    for name, value in re.findall(r"(\w+) stage: ([0-9.]+) s", m.stderr):
        seconds[name] = float(value)
    missing = [s for s in STAGES if s not in seconds]
    if missing:
        raise RuntimeError(f"no timing for {missing}\n{m.stderr[-3000:]}")
    started = time.perf_counter()
    process, base = start_server(config)
    try:
        with urllib.request.urlopen(f"{base}/api/graph", timeout=1800) as response:
            graph = json.loads(response.read())
        seconds["explorer cold start"] = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)
    print(f"  sweep process: {m.wall:.0f} s wall, peak RSS {m.rss_mb:.0f} MB; "
          f"/api/graph: {len(graph.get('nodes', []))} nodes, {len(graph.get('edges', []))} edges", flush=True)
    print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in the first run (the second has 2x)")
    parser.add_argument("--keep", metavar="DIR", help="keep worlds, databases and configs in DIR")
    args = parser.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    results = {}
    try:
        for posts in (args.posts, 2 * args.posts):
            print(f"{posts:,} posts:", flush=True)
            results[posts] = run(posts, workdir / str(posts))
    except RuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    small, large = results[args.posts], results[2 * args.posts]
    print()
    print(f"{'seconds':<22}{args.posts:>12,}{2 * args.posts:>12,}{'ratio':>8}   vs collection (N)")
    failed = False
    for name in ("collection", *STAGES, "explorer cold start"):
        ratio = large[name] / small[name] if small[name] > 0.05 else 1.0
        share = small[name] / small["collection"]
        ok = ratio <= MAX_RATIO and (name == "collection" or share <= 1.0)
        failed |= not ok
        print(f"{name:<22}{small[name]:>12.1f}{large[name]:>12.1f}{ratio:>7.2f}x   {share:6.2f}  "
              f"{'ok' if ok else 'FAIL'}")
    print(f"requirement: each stage <= the collection time, 2x posts <= {MAX_RATIO}x time: "
          + ("FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
