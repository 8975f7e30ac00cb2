"""Peak memory of the bot detect stage on a large store: streamed (now) against load-everything (before).

Builds a synthetic store (default 1,000,000 bot references from 500,000 posts in 200 channels,
5,000 bot profiles, referral codes that move between bots, a few mirror notices), then runs,
each in its own process on its own copy of the database:

- `before (load all)`: the detect stage as it was: one `fetchall` of bot_refs JOIN posts
  (every reference with its post text), promotions and mirrors built from that list;
- `after (streamed)`: `detectors.bots.stage.detect_bots`: promotions a chunk of bots at a time
  (at most `[bots] max_promotions` per bot, picked by SQLite), mirrors in one streamed pass.

Prints peak RSS (VmHWM) and its growth over the process after imports, time, and whether
both wrote the same verdicts and mirrors. Exit 1 when they differ or the streamed peak is not
lower.

    python benchmarks/bench_detect_memory.py [--refs N] [--bots N] [--dir PATH]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHANNELS = 200


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build(db: Path, refs: int, bots: int) -> None:
    """A seeded store: posts naming 1 or 3 bots (1 % exactly 2, mirror notices), deep-link codes."""
    from store.sqlite import Store

    async def migrate() -> None:
        store = await Store.open(db)
        await store.close()

    asyncio.run(migrate())
    rng = random.Random(7)
    names = [f"tool{i:05d}_bot" for i in range(bots)]
    conn = sqlite3.connect(db)
    t = "2026-01-01T00:00:00+00:00"
    conn.executemany(
        "INSERT INTO bots(username, confirmed, title, description, first_seen, last_seen) VALUES (?,?,?,?,?,?)",
        [(n, 1, f"Tool {i}", "Send a photo, AI removes clothes. 3 free tries, then credits." if i % 5 == 0 else
          "Builds a collage from your pictures. Pick a layout, send photos, done.", t, t)
         for i, n in enumerate(names)])
    posts, ref_rows, made = [], [], 0
    post_id = 0
    while made < refs:
        post_id += 1
        channel = f"chan{post_id % CHANNELS:03d}"
        when = f"2026-01-{1 + (post_id // 20000) % 28:02d}T{(post_id // 800) % 24:02d}:{post_id % 60:02d}:00+00:00"
        roll = rng.random()
        if roll < 0.01:
            old, new = rng.sample(names, 2)
            picked, text = [old, new], f"@{old} was banned. New mirror: @{new}"
        elif roll < 0.5:
            picked = [rng.choice(names)]
            text = f"Try @{picked[0]} today, send a photo and get a result in seconds. Invite friends for credits."
        else:
            picked = rng.sample(names, 3)
            text = "Working bots today: " + ", ".join("@" + b for b in picked) + ". Updated every hour, stay tuned."
        posts.append((channel, post_id, when, text, "web", "{}", t, t))
        for b in picked:
            index = int(b[4:9])
            code = f"ref{(index + (1 if post_id > refs // 3 and index % 50 == 0 else 0)) % bots}x{index % 7}"
            ref_rows.append((channel, post_id, b, "deep_link", code))
            made += 1
        if len(posts) >= 50_000:
            conn.executemany("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                             "VALUES (?,?,?,?,?,?,?,?)", posts)
            conn.executemany("INSERT OR IGNORE INTO bot_refs VALUES (?,?,?,?,?)", ref_rows)
            posts, ref_rows = [], []
    conn.executemany("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                     "VALUES (?,?,?,?,?,?,?,?)", posts)
    conn.executemany("INSERT OR IGNORE INTO bot_refs VALUES (?,?,?,?,?)", ref_rows)
    conn.commit()
    conn.close()


async def detect_bots_before(store, config) -> dict:
    """The detect stage before streaming (kept here as the baseline): everything through one fetchall."""
    from store.records import now
    from detectors.bots.classifier import score_bot
    from detectors.bots.mirrors import find_mirrors, posts_from_rows
    from detectors.bots.stage import _thresholds, profile_of

    thresholds, max_promotions = _thresholds(config)
    bots = await store.fetchall(
        "SELECT username, confirmed, title, description, profile FROM bots WHERE confirmed IS NOT 0")
    refs = await store.fetchall(
        """SELECT p.channel, p.id, p.date, p.text, r.bot, r.how, r.param,
                  p.forwarded_channel IS NOT NULL OR p.forwarded_name IS NOT NULL FROM bot_refs r
           JOIN posts p ON p.channel = r.channel AND p.id = r.post_id ORDER BY p.date DESC, p.channel, p.id""")
    promotions: dict[str, list[str]] = {}
    seen: set[tuple[str, str, int]] = set()
    for channel, post_id, _date, text, bot, _how, _param, _fwd in refs:
        if text and (bot, channel, post_id) not in seen and len(promotions.get(bot, ())) < max_promotions:
            seen.add((bot, channel, post_id))
            promotions.setdefault(bot, []).append(text)
    decided = await store.bot_overrides()
    updates, profiles, t = [], {}, now()
    for row in bots:
        profile = profile_of(row)
        profiles[row["username"]] = f"{profile['name']}\n{profile['description']}\n{profile['about']}"
        verdict = score_bot(profile, promotions.get(row["username"], []), thresholds)
        label = decided[row["username"]]["label"] if row["username"] in decided else verdict.label
        updates.append((label, verdict.label, verdict.score, json.dumps(list(verdict.reasons), ensure_ascii=False),
                        t, row["username"]))
    mirrors = find_mirrors(posts_from_rows([tuple(r) for r in refs]), profiles)
    async with store.transaction() as db:
        await db.executemany(
            "UPDATE bots SET label=?, auto_label=?, score=?, reasons=?, scored_at=? WHERE username=?", updates)
        await db.executemany(
            "INSERT OR IGNORE INTO bot_mirrors(bot, predecessor, kind, evidence, first_seen) VALUES (?,?,?,?,?)",
            [(m.bot, m.predecessor, m.kind, m.evidence, t) for m in mirrors])
    return {"bots_scored": len(updates), "mirrors": len({(m.bot, m.predecessor) for m in mirrors})}


def child(which: str, db: Path) -> None:
    from store.sqlite import Store
    from detectors.bots.classifier import default_model
    from detectors.bots.stage import detect_bots
    from tgsweep.config import Config

    default_model()
    start_rss = vm_rss_mb()

    async def run() -> dict:
        store = await Store.open(db)
        try:
            work = detect_bots_before if which == "before" else detect_bots
            t0 = time.perf_counter()
            counts = await work(store, Config())
            seconds = time.perf_counter() - t0
        finally:
            await store.close()
        return {"counts": {k: counts[k] for k in ("bots_scored", "mirrors")}, "seconds": seconds}

    result = asyncio.run(run())
    conn = sqlite3.connect(db)
    digest = hashlib.sha256()
    for row in conn.execute("SELECT username, auto_label, round(score, 6), reasons FROM bots ORDER BY username"):
        digest.update(repr(row).encode())
    for row in conn.execute("SELECT bot, predecessor, kind, evidence FROM bot_mirrors ORDER BY 1, 2, 3, 4"):
        digest.update(repr(row).encode())
    print(json.dumps({**result, "peak_mb": vm_hwm_mb(), "start_mb": start_rss, "digest": digest.hexdigest()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=int, default=1_000_000)
    parser.add_argument("--bots", type=int, default=5_000)
    parser.add_argument("--dir", help="where to build the stores (default: a temp folder, removed after)")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-detect-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        source = folder / "source.db"
        if not source.exists():
            t0 = time.perf_counter()
            build(source, args.refs, args.bots)
            print(f"built {source} in {time.perf_counter() - t0:.0f} s")
        conn = sqlite3.connect(source)
        n_refs, n_posts = conn.execute(
            "SELECT (SELECT count(*) FROM bot_refs), (SELECT count(*) FROM posts)").fetchone()
        conn.close()
        print(f"store: {n_refs:,} bot references, {n_posts:,} posts, {args.bots:,} bots, "
              f"{source.stat().st_size / 1e6:.0f} MB")
        results = {}
        for which, label in (("before", "before (load all)"), ("after", "after (streamed)")):
            copy = folder / f"{which}.db"
            shutil.copyfile(source, copy)
            done = subprocess.run([sys.executable, __file__, "--child", which, str(copy)], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                print(done.stderr)
                return 1
            r = results[which] = json.loads(done.stdout.splitlines()[-1])
            print(f"{label:20} peak RSS {r['peak_mb']:7.0f} MB (+{r['peak_mb'] - r['start_mb']:.0f} MB over "
                  f"{r['start_mb']:.0f} MB after imports), {r['seconds']:6.1f} s, {r['counts']}")
        same = results["before"]["digest"] == results["after"]["digest"]
        ratio = results["before"]["peak_mb"] / results["after"]["peak_mb"]
        print(f"same verdicts and mirrors: {'yes' if same else 'NO'}; peak RSS {ratio:.1f}x lower streamed")
        return 0 if same and ratio > 1 else 1
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
