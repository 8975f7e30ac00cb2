"""Distributed mode against a real PostgreSQL and the loopback t.me server: worker and collector processes
killed with SIGKILL at random points lose nothing and double nothing, and no account is used by two at once."""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from store.postgres import PostgresStore
from store.records import Post
from tests.conftest import Sweeps
from tgsweep.demo import known_content_csv
from tgsweep.demo.corpus import build_demo_world, demo_watchlist
from tgsweep.demo.tme_server import Entity, TmeServer, fill_text_entities
from tgsweep.work import plan


def test_the_dispatcher_queues_due_channels_once_per_interval():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    ago = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    channels = {"fresh": 60, "stale": 60, "never": 60, "failing": 60, "fast": 5}
    last = {"fresh": ago(10), "stale": ago(61), "fast": ago(6)}
    marks = {"failing": ago(30), "stale": ago(61)}  # "failing" was queued 30 minutes ago and never succeeded
    assert plan.due(channels, last, marks, now) == ["fast", "never", "stale"]
    buckets = plan.batches(["a", "b", "c", "d"], 2)
    assert sorted(n for names in buckets.values() for n in names) == ["a", "b", "c", "d"]
    assert all(plan.bucket_of(n, 2) == b for b, names in buckets.items() for n in names)


class _RefusingQueue:
    """The queue as the dispatcher sees it, after a dead worker: its stalled batch could not be retried
    (a newer job of the batch waits), so its channels come back; the first deferral is refused too."""

    def __init__(self, given_back: list[str]) -> None:
        self.given_back, self.deferred, self.refuse = given_back, [], True

    async def retry_stalled(self, seconds: float) -> tuple[int, list[str]]:
        back, self.given_back = self.given_back, []
        return (1 if back else 0), back

    async def defer_collect(self, bucket: int, channels: list[str]) -> bool:
        if self.refuse:
            return False
        self.deferred += channels
        return True

    async def defer_analysis(self) -> bool:
        return False


async def test_channels_of_a_job_that_ended_unrun_stay_due_until_queued(tmp_path):
    from store import open_store
    from tgsweep.config import load_config
    from tgsweep.work.dispatch import dispatch_once

    config = load_config(Sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["alpha", "beta"]))
    store = await open_store(config.storage.database)
    try:
        await store.watch(["alpha", "beta"])
        first = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
        await store.mark_dispatched("web", ["alpha", "beta"], first.isoformat())  # queued; the worker died
        queue = _RefusingQueue(["alpha"])
        await dispatch_once(config, store, queue, first + timedelta(minutes=1))  # given back, refused this tick
        queue.refuse = False
        await dispatch_once(config, store, queue, first + timedelta(minutes=2))  # the next tick queues it
        assert queue.deferred == ["alpha"]  # beta was not given back: not due before its interval
    finally:
        await store.close()


def _world(extra_channels: int, posts_each: int):
    """The demo's world (pictures, bots, a banked picture) and plain text channels to make collection long."""
    world = build_demo_world()
    rng = random.Random(7)
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for i in range(extra_channels):
        name = f"relay_{i:02d}"
        entity = Entity(username=name, id=1950000000 + i, title=f"Relay {i}", description="Reposts of news.")
        for n in range(1, posts_each + 1):
            post = Post(channel=name, id=n, date=(start + timedelta(minutes=17 * n)).isoformat(),
                        text=f"Relay {i} item {n}: " + " ".join(rng.choice(["news", "update", "photo", "tools"])
                                                              for _ in range(6)), channel_id=entity.id, views=n)
            fill_text_entities(post)
            entity.posts.append(post)
        world.add(entity)
    return world


def _spawn_worker(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "worker", "--concurrency", "2"],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=config.parent, env=Sweeps.env(),
                            start_new_session=True)


def _spawn_collector(config: Path, notes: Path, log: Path) -> subprocess.Popen:
    """A collector on the account `unit` (tests/tgsweep/collector_process.py: offline Telegram, requests noted)."""
    return subprocess.Popen([sys.executable, "-m", "tests.tgsweep.collector_process", str(config), "unit", str(notes)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=config.parent, env=Sweeps.env(),
                            start_new_session=True)


def _reference_telethon_posts(folder: Path) -> set[tuple[str, int]]:
    """What one uninterrupted Telethon sweep of the offline Telegram stores (a SQLite store of its own)."""
    from crawler.telethon.collect import sweep_telethon
    from store import open_store
    from tests.crawler.telethon.test_collect import ALL, make_config, world

    folder.mkdir()
    config = make_config(folder, ALL)

    async def run() -> set[tuple[str, int]]:
        store = await open_store(config.storage.database)
        try:
            await sweep_telethon(config, store, world())
            return {tuple(r) for r in await store.fetchall("SELECT channel, id FROM posts")}
        finally:
            await store.close()
    return asyncio.run(run())


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker; its sweep child dies with it (PR_SET_PDEATHSIG), as after a machine loses power."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


async def _read(url: str, sql: str) -> list[tuple]:
    store = await PostgresStore.open(url)
    try:
        return [tuple(r) for r in await store.fetchall(sql)]
    finally:
        await store.close()


def test_workers_and_collectors_killed_at_random_lose_and_double_nothing(tmp_path, pg_url):
    from tests.crawler.telethon.test_collect import ALL

    world = _world(extra_channels=12, posts_each=120)
    watch = demo_watchlist() + [n for n in world.entities if n.startswith("relay_")]
    telethon_posts = _reference_telethon_posts(tmp_path / "reference")
    rng = random.Random(int(os.environ.get("TGSWEEP_KILL_SEED", "19")))
    with TmeServer(world, delay=0.03) as server:
        # the collectors' config: the same store and files, the offline Telegram's channels, API settings
        collector_config = Sweeps.write_config(
            tmp_path, server.base_url, ALL, storage={"url": pg_url},
            telethon={"api_id": 12345, "api_hash": "0123456789abcdef0123456789abcdef", "interval_minutes": 0.005})
        collector_config = collector_config.rename(tmp_path / "collector.toml")
        config = Sweeps.write_config(
            tmp_path, server.base_url, watch, storage={"url": pg_url},
            web={"concurrent_requests": 2}, distributed={"buckets": 6, "tick_seconds": 1, "stalled_seconds": 3,
                                                         "heartbeat_seconds": 0.5, "analysis_minutes": 0.05})
        with config.open("a") as f:
            f.write('[[alerts.sinks]]\ntype = "jsonl"\npath = "alerts.jsonl"\n')

        async def bank() -> None:
            from detectors.media.banks import import_bank, parse_hash_csv

            store = await PostgresStore.open(pg_url)
            try:
                await import_bank(store, "case_1", parse_hash_csv(known_content_csv(world)), "case_1.csv")
            finally:
                await store.close()
        asyncio.run(bank())

        logs, notes = tmp_path / "workers.log", tmp_path / "requests.txt"
        workers = [_spawn_worker(config, logs) for _ in range(3)]
        collectors = [_spawn_collector(collector_config, notes, logs) for _ in range(2)]  # a holder, a standby
        kills = 0
        try:
            deadline = time.monotonic() + 240
            while kills < 10 and time.monotonic() < deadline:
                time.sleep(rng.uniform(0.5, 2.5))
                victim = rng.randrange(len(workers))
                _kill(workers[victim])
                workers[victim] = _spawn_worker(config, logs)
                time.sleep(rng.uniform(0, 0.5))
                victim = rng.randrange(len(collectors))
                if kills % 2 == 0:  # every other round the account's holder, whichever it is now
                    holders = asyncio.run(_read(pg_url, "SELECT holder FROM lease_log WHERE event = 'acquired' "
                                                        "ORDER BY id DESC LIMIT 1"))
                    pids = [c.pid for c in collectors]
                    holder = int(holders[0][0].rsplit(":", 1)[1]) if holders else None
                    victim = pids.index(holder) if holder in pids else victim
                _kill(collectors[victim])
                collectors[victim] = _spawn_collector(collector_config, notes, logs)
                kills += 1

            def settled() -> bool:
                swept = asyncio.run(_read(pg_url, "SELECT count(*) FROM cursors WHERE source='web' "
                                                  "AND last_success IS NOT NULL AND channel IN ("
                                                  + ",".join(f"'{n}'" for n in watch) + ")"))[0][0]
                pending = asyncio.run(_read(pg_url, "SELECT count(*) FROM media_items WHERE status='pending'"))[0][0]
                busy = asyncio.run(_read(pg_url, "SELECT count(*) FROM procrastinate_jobs "
                                                 "WHERE status IN ('todo', 'doing') AND task_name != 'tgsweep:tick'"))[0][0]
                collected = set(asyncio.run(_read(pg_url, "SELECT channel, id FROM posts WHERE channel IN ("
                                                          + ",".join(f"'{n}'" for n in ALL) + ")")))
                state.update(swept=swept, of=len(watch), pending=pending, busy=busy,
                             telethon_missing=len(telethon_posts - collected),
                             unswept=asyncio.run(_read(pg_url, "SELECT channel, last_error, pending_top, pending_bottom "
                                                               "FROM cursors WHERE source='web' AND last_success IS NULL")),
                             never=asyncio.run(_read(pg_url, "SELECT c.username, m.deferred_at FROM channels c LEFT JOIN "
                                                             "dispatch_marks m ON m.channel = c.username AND m.source='web' "
                                                             "WHERE c.watched = 1 AND NOT EXISTS (SELECT 1 FROM cursors u "
                                                             "WHERE u.channel = c.username AND u.source = 'web')")),
                             jobs=asyncio.run(_read(pg_url, "SELECT id, status, args::text FROM procrastinate_jobs "
                                                            "WHERE task_name = 'tgsweep:collect_web'")),
                             errors=asyncio.run(_read(pg_url, "SELECT kind, channel, message FROM sweep_errors "
                                                              "WHERE kind != 'media' ORDER BY id DESC LIMIT 8")))
                return swept >= len(watch) - 1 and pending == 0 and busy == 0 and collected == telethon_posts
            state: dict = {}
            while not settled():
                assert time.monotonic() < deadline, f"{state}\n" + logs.read_text()[-3000:]
                time.sleep(1)
            time.sleep(3)  # an analysis after the last collection: deliveries done
            while asyncio.run(_read(pg_url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                                            "AND task_name = 'tgsweep:analyse'"))[0][0]:
                assert time.monotonic() < deadline
                time.sleep(1)
        finally:
            for w in workers + collectors:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            for w in workers + collectors:
                try:
                    w.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    _kill(w)
    assert kills == 10

    # every post exactly once: the web's and the collectors'
    served = {(name, p.id) for name, e in world.entities.items() if e.has_preview and name in watch for p in e.posts}
    stored = asyncio.run(_read(pg_url, "SELECT channel, id FROM posts"))
    assert len(stored) == len(set(stored)) and set(stored) == served | telethon_posts
    # the account was never used by two processes: each process's requests came after the one before stopped
    spans: dict[int, list[float]] = {}
    for line in notes.read_text().splitlines():
        pid, at = line.split()
        spans.setdefault(int(pid), []).append(float(at))
    ordered = sorted((min(t), max(t), pid) for pid, t in spans.items())
    assert len(ordered) >= 3, ordered  # the lease changed hands, holders killed
    assert all(a[1] < b[0] for a, b in zip(ordered, ordered[1:])), ordered
    lease_log = asyncio.run(_read(pg_url, "SELECT holder, event FROM lease_log WHERE account = 'unit' ORDER BY id"))
    holders = [holder for holder, event in lease_log if event == "acquired"]
    assert {int(h.rsplit(":", 1)[1]) for h in holders} >= set(spans)  # whoever made requests had acquired it
    assert len(holders) == len(set(holders))  # and each acquired it once
    # every media item fetched or recorded as an error
    states = dict(asyncio.run(_read(pg_url, "SELECT status, count(*) FROM media_items GROUP BY status")))
    assert "pending" not in states and states.get("stored", 0) > 100, states
    errors = asyncio.run(_read(pg_url, "SELECT count(*) FROM media_items i WHERE status = 'error' AND NOT EXISTS ("
                                       "SELECT 1 FROM sweep_errors e WHERE e.kind = 'media' AND e.channel = i.channel)"))
    assert errors == [(0,)]
    # the custody chain, the captures and the records re-derived from them
    verify = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "verify"],
                            capture_output=True, text=True, timeout=300, env=Sweeps.env(), cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout[-2000:]
    # every alert delivered, each id to the sink; a line written again after a kill carries the same id and body
    alerts = dict(asyncio.run(_read(pg_url, "SELECT id, state FROM alerts")))
    assert alerts and set(alerts.values()) == {"delivered"}
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    by_id: dict[str, dict] = {}
    for line in lines:
        assert by_id.setdefault(line["id"], line) == line
    assert set(by_id) == set(alerts)
    # the banked picture was found again
    assert asyncio.run(_read(pg_url, "SELECT count(*) FROM bank_matches"))[0][0] >= 1


@pytest.mark.parametrize("kind", ["dispatch", "worker"])
def test_distributed_commands_need_postgresql(tmp_path, kind):
    config = Sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["news"])
    done = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), kind],
                          capture_output=True, text=True, timeout=60, env=Sweeps.env(), cwd=tmp_path)
    assert done.returncode == 2 and "needs the store on PostgreSQL" in done.stderr
