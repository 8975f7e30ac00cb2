"""Crash safety: a sweep killed (SIGKILL) or stopped (SIGTERM) half-way loses nothing and
repeats nothing once it is run again.

The loopback server answers every feed page slowly (a `delay` fault), so the sweep is surely
mid-way when the test, polling the database for committed posts, kills it.
"""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from store.records import MediaItem, Post
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

PAGE = 10
SIZES = {"alpha": 120, "beta": 60}  # 12 and 6 pages
PAGE_DELAY = 0.3
START = datetime(2026, 4, 1, tzinfo=timezone.utc)


def crash_world() -> World:
    world = World(page_size=PAGE)
    for n in range(4):
        world.files[f"p{n}.jpg"] = encode(picture(700 + n, (48, 36)))
    for cid, (name, count) in enumerate(SIZES.items(), start=5001):
        entity = Entity(username=name, id=cid, title=name.title(), counters={"subscribers": 10})
        for i in range(1, count + 1):
            media = [MediaItem(kind="photo", url=f"/file/p{i % 4}.jpg", width=48, height=36)] if i % 5 == 0 else []
            entity.posts.append(fill_text_entities(Post(
                channel=name, id=i, date=(START + timedelta(minutes=i)).isoformat(), text=f"{name} post {i}",
                views=i, media=media, channel_id=cid)))
        world.add(entity)
    return world


def slow_down(server) -> None:
    """Every feed page answers slowly; the first two media files very slowly (still pending when killed)."""
    server.clear_faults()
    for name, count in SIZES.items():
        server.add_faults(f"/s/{name}", *[{"delay": PAGE_DELAY}] * (count // PAGE + 2))
    server.add_faults("/file/", {"delay": 3}, {"delay": 3})


def wait_for_posts(sweeps, config, process: subprocess.Popen, at_least: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sweep ended before the test could stop it: " + process.stdout.read()
        count = sweeps.post_count(config)
        if count >= at_least:
            return count
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} posts after {timeout} s")


def integrity(sweeps, config) -> str:
    return sweeps.value(config, "PRAGMA integrity_check")


def stored(sweeps, config, name: str) -> list[int]:
    return [r[0] for r in sweeps.rows(config, "SELECT id FROM posts WHERE channel=? ORDER BY id", (name,))]


def assert_complete(sweeps, config, world: World) -> None:
    """Every world post stored once, cursors at the newest id, media fetched, evidence verifiable."""
    for name, count in SIZES.items():
        assert stored(sweeps, config, name) == list(range(1, count + 1)), name
        assert sweeps.value(config, "SELECT count(*) FROM posts WHERE channel=?", (name,)) == count
    assert sorted(sweeps.rows(config, "SELECT channel, last_id, pending_top, pending_bottom FROM cursors")) == \
           [("alpha", 120, None, None), ("beta", 60, None, None)]
    assert sweeps.rows(config, "SELECT status, count(*) FROM media_items GROUP BY status") == \
           [("stored", sum(SIZES.values()) // 5)]
    assert integrity(sweeps, config) == "ok"
    done = sweeps.cli(config, "verify")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture()
def crash_server(sweeps):
    with sweeps.Server(crash_world()) as server:
        yield server


@pytest.mark.parametrize("pages, settle", [(1, 0.0), (2, 0.1), (4, 0.2)], ids=["1_page", "2_pages", "4_pages"])
def test_killed_sweep_resumes_and_stores_everything_once(sweeps, tmp_path, crash_server, pages, settle):
    server = crash_server
    slow_down(server)
    config = sweeps.write_config(tmp_path, server.base_url, list(SIZES))
    process = sweeps.spawn_sweep(config)
    try:
        wait_for_posts(sweeps, config, process, pages * PAGE)
        time.sleep(settle)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        sweeps.stop(process)
    assert process.returncode == -signal.SIGKILL
    assert sweeps.value(config, "SELECT status FROM sweeps WHERE id=1") == "running"  # it never got to say
    # what was committed is whole pages, newest first, and verifiable as it stands
    assert integrity(sweeps, config) == "ok"
    committed = {}
    for name, count in SIZES.items():
        ids = stored(sweeps, config, name)
        assert len(ids) % PAGE == 0 and ids == list(range(count - len(ids) + 1, count + 1)), (name, ids)
        committed[name] = len(ids) // PAGE
    assert sum(committed.values()) >= pages
    assert sweeps.value(config, "SELECT count(*) FROM media_items WHERE status='pending'") >= 1
    assert committed["alpha"] < SIZES["alpha"] // PAGE  # killed mid-way, not after the end
    done = sweeps.cli(config, "verify")
    assert done.returncode == 0, done.stdout + done.stderr

    server.clear_faults()
    server.clear_requests()
    rerun = sweeps.sweep(config)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_complete(sweeps, config, server.world)
    # the re-run fetched the newest page, then jumped over what was stored
    for name, count in SIZES.items():
        total, done_pages = count // PAGE, committed[name]
        feed = [r for r in server.requests(f"/s/{name}") if r["path"] == f"/s/{name}"]
        expected = 1 if done_pages == total else total - done_pages + (1 if done_pages else 0)
        assert len(feed) == expected, (name, done_pages, [r["query"] for r in feed])
    assert sweeps.value(config, "SELECT status FROM sweeps WHERE id=2") == "ok"


def test_sigterm_stops_promptly_marks_interrupted_and_a_rerun_completes(sweeps, tmp_path, crash_server):
    server = crash_server
    slow_down(server)
    config = sweeps.write_config(tmp_path, server.base_url, list(SIZES))
    process = sweeps.spawn_sweep(config)
    try:
        wait_for_posts(sweeps, config, process, 2 * PAGE)
        process.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        out, err = process.communicate(timeout=10)
        took = time.monotonic() - asked
    finally:
        sweeps.stop(process)
    assert took < 10
    assert process.returncode == 1, out + err
    assert "interrupted" in out
    status, finished, stats = sweeps.rows(config, "SELECT status, finished_at, stats FROM sweeps WHERE id=1")[0]
    assert status == "interrupted" and finished is not None and stats
    assert sweeps.value(config, "SELECT count(*) FROM posts") < sum(SIZES.values())
    assert integrity(sweeps, config) == "ok"

    server.clear_faults()
    rerun = sweeps.sweep(config)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_complete(sweeps, config, server.world)
    assert sweeps.value(config, "SELECT status FROM sweeps WHERE id=2") == "ok"


def test_five_kills_in_a_row_at_random_points_lose_duplicate_and_leave_pending_nothing(sweeps, tmp_path,
                                                                                    crash_server):
    import random

    server = crash_server
    rng = random.Random(12)
    config = sweeps.write_config(tmp_path, server.base_url, list(SIZES))
    for _ in range(5):
        slow_down(server)
        process = sweeps.spawn_sweep(config)
        try:
            time.sleep(rng.uniform(0.3, 2.0))  # anywhere: starting, mid-page, mid-media, between pages
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        finally:
            sweeps.stop(process)
        assert integrity(sweeps, config) == "ok"
    server.clear_faults()
    rerun = sweeps.sweep(config)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_complete(sweeps, config, server.world)  # every post once, every media item stored, verify passes
    statuses = [r[0] for r in sweeps.rows(config, "SELECT status FROM sweeps ORDER BY id")]
    assert statuses[-1] == "ok" and "running" not in statuses  # the killed ones closed as killed
