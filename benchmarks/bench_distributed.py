"""Benchmark: distributed mode's web sweep with 1, 2 and 4 workers, against one SQLite sweep.

The requirement (issue 19): the web sweep of the 100,000-post world with 1, 2 and 4 workers on
loopback, with a per-request server delay that makes it I/O-bound; posts/s and the speed-up
(goal: 2 workers >= 1.7x one, 4 workers >= 3x); and the PostgreSQL single-process sweep against
the SQLite sweep in the same run.

What runs, each in its own process:

- the loopback t.me server (``python -m tgsweep.demo.tme_server --delay S``) serving bench_sweep's
  seeded world of N text posts in C channels (default 20,000 in 40: `--posts 100000` for the
  issue's world; about five times longer), every answer delayed by S seconds (default 0.1): a
  far server, as t.me is from a unit's network;
- a throw-away PostgreSQL cluster (tests/pg_server.py; Debian's package), a new database per run;
- named baseline ``sqlite sweep``: ``tgsweep sweep --stages ""`` (collection only) on a new SQLite
  store; then the same command on a new PostgreSQL store (``postgresql sweep``);
- ``W workers``: ``tgsweep db upgrade``, then W ``tgsweep worker --queues dispatch,collect``
  processes on a new PostgreSQL store ([distributed] tick_seconds = 1, buckets = 8: five channels, a few
  seconds of work, per job; with 16, two or three channels per job, each job's `tgsweep sweep` process
  start (about 1.5 s of CPU) kept 4 workers CPU-bound on a 2-core machine: 2.57x instead of 3.14x); timed from
  spawning the workers until every post is stored (the store polled every 0.25 s).

Every run must store exactly N distinct posts (exit 2 otherwise). The first SQLite sweep is a
warm-up (the server renders and caches each page once) and is not reported.
[web] concurrent_requests is 2 per sweep process (`--concurrency`), so one process is I/O-bound.

Usage: python3 benchmarks/bench_distributed.py [--posts N] [--channels C] [--delay S]
         [--concurrency K] [--workers 1,2,4] [--buckets B]
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_sweep import _config_text, build_world  # noqa: E402


def _config(folder: Path, base_url: str, channels: list[str], concurrency: int, url: str | None,
            buckets: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = _config_text(folder / "tgsweep.db", base_url, channels, concurrency, url=url) + f"""
[distributed]
tick_seconds = 1
buckets = {buckets}
analysis_minutes = 100000
"""
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tgsweep.cli", "--config", str(config), *args]


async def _count(config: Path) -> int:
    from store import open_store
    from tgsweep.config import load_config

    c = load_config(config)
    store = await open_store(c.storage.database, c.storage.url_value)
    try:
        return (await store.fetchone("SELECT count(*) FROM (SELECT DISTINCT channel, id FROM posts) AS p"))[0]
    finally:
        await store.close()


def count(config: Path) -> int:
    return asyncio.run(_count(config))


def sweep(config: Path, expected: int) -> float:
    """One `tgsweep sweep --stages ""`: its wall time; the stored posts checked."""
    started = time.perf_counter()
    done = subprocess.run(_cli(config, "sweep", "--no-progress", "--stages", ""), cwd=REPO, capture_output=True,
                          text=True)
    wall = time.perf_counter() - started
    stored = count(config)
    if done.returncode != 0 or stored != expected:
        raise RuntimeError(f"sweep: exit {done.returncode}, {stored} posts of {expected}\n{done.stderr[-2000:]}")
    return wall


def workers(config: Path, n: int, expected: int, timeout: float) -> float:
    """N workers from spawn until every post is stored: the wall time."""
    subprocess.run(_cli(config, "db", "upgrade"), cwd=REPO, check=True, capture_output=True)
    log = open(config.parent / "workers.log", "w")
    started = time.perf_counter()
    procs = [subprocess.Popen(_cli(config, "worker", "--queues", "dispatch,collect"), cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT) for _ in range(n)]
    try:
        while (stored := count(config)) < expected:
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{n} workers: {stored} posts of {expected} after {timeout:.0f} s; "
                                   f"see {config.parent / 'workers.log'}")
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a worker exited; see {config.parent / 'workers.log'}")
            time.sleep(0.25)
        return time.perf_counter() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the server waits before every answer")
    parser.add_argument("--concurrency", type=int, default=2, help="[web] concurrent_requests per sweep process")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--buckets", type=int, default=8, help="[distributed] buckets: the watchlist in this many jobs")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a run may take")
    args = parser.parse_args()

    from tests.pg_server import PostgresServer, binaries
    from tgsweep.demo.tme_server import world_to_json

    if binaries() is None:
        print("no PostgreSQL server here (Debian package postgresql)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="bench_distributed_"))
    channels = [f"bench_feed_{i:03d}" for i in range(args.channels)]
    per, extra = divmod(args.posts, args.channels)
    world_file = folder / "world.json"
    world_file.write_text(world_to_json(build_world({c: per + (i < extra) for i, c in enumerate(channels)})))
    server = subprocess.Popen([sys.executable, "-m", "tgsweep.demo.tme_server", "--world", str(world_file),
                               "--port", "0", "--delay", str(args.delay)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    base_url = server.stdout.readline().split(" ", 1)[1].strip()
    pg = PostgresServer().start()
    print(f"world: {args.posts} posts in {args.channels} channels; server delay {args.delay} s per answer; "
          f"concurrent_requests {args.concurrency} per sweep process")
    rows: list[tuple[str, float]] = []
    try:
        sweep(_config(folder / "warm", base_url, channels, args.concurrency, None), args.posts)  # warm-up
        rows.append(("baseline: sqlite sweep", sweep(_config(folder / "sqlite", base_url, channels,
                                                            args.concurrency, None), args.posts)))
        rows.append(("postgresql sweep", sweep(_config(folder / "pg", base_url, channels, args.concurrency,
                                                      pg.new_database()), args.posts)))
        for n in [int(x) for x in args.workers.split(",")]:
            config = _config(folder / f"w{n}", base_url, channels, args.concurrency, pg.new_database(), args.buckets)
            rows.append((f"{n} worker(s)", workers(config, n, args.posts, args.timeout)))
            print(f"  {rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
    except RuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        server.terminate()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)

    print()
    print(f"{'run':28} {'seconds':>8} {'posts/s':>8} {'vs sqlite':>10} {'vs 1 worker':>12}")
    one = dict(rows).get("1 worker(s)")
    sqlite = rows[0][1]
    for name, wall in rows:
        versus_one = f"{one / wall:.2f}x" if one and name.endswith("worker(s)") else ""
        print(f"{name:28} {wall:8.1f} {args.posts / wall:8.0f} {sqlite / wall:9.2f}x {versus_one:>12}")
    goals = {2: 1.7, 4: 3.0}
    for n, goal in goals.items():
        wall = dict(rows).get(f"{n} worker(s)")
        if one and wall:
            print(f"goal {n} workers >= {goal}x one: {one / wall:.2f}x {'PASS' if one / wall >= goal else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
