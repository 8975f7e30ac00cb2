"""The scheduled service (`tgsweep run`), `tgsweep status` and `tgsweep watch`.

The service runs as a subprocess (its sweeps are its own children) against a loopback t.me
server served from a thread of the test process, with sweeps every 1.2 s (`interval_minutes =
0.02`). The store is compared with the server's posts: nothing lost, nothing twice.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from store.records import Post
from tests.conftest import StampedTmeServer
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

PAGE = 10
SIZES = {"alpha": 50, "beta": 30}
START = datetime(2026, 5, 1, tzinfo=timezone.utc)
INTERVAL = 0.02  # minutes: a sweep every 1.2 s


class PacedServer(StampedTmeServer):
    """Feed pages answer after `page_delay` seconds, so a sweep is surely mid-way for a while."""

    page_delay = 0.0

    def channel_page(self, name: str, before: int | None, empty: bool = False) -> str:
        if self.page_delay:
            time.sleep(self.page_delay)
        return super().channel_page(name, before, empty)

    def publish(self, name: str, count: int = 1) -> list[int]:
        """New posts at the top of a channel (as between two scheduled runs)."""
        entity = self.world.get(name)
        ids = []
        for _ in range(count):
            i = entity.posts[-1].id + 1
            self.add_post(fill_text_entities(Post(
                channel=name, id=i, date=(START + timedelta(minutes=i)).isoformat(), text=f"{name} news {i}",
                views=i, channel_id=entity.id)))
            ids.append(i)
        return ids

    def post_ids(self) -> dict[str, list[int]]:
        return {name: [p.id for p in self.world.get(name).posts] for name in SIZES}


def world() -> World:
    w = World(page_size=PAGE)
    for cid, (name, count) in enumerate(SIZES.items(), start=7001):
        entity = Entity(username=name, id=cid, title=name.title(), counters={"subscribers": 5})
        for i in range(1, count + 1):
            entity.posts.append(fill_text_entities(Post(
                channel=name, id=i, date=(START + timedelta(minutes=i)).isoformat(), text=f"{name} post {i}",
                views=i, channel_id=cid)))
        w.add(entity)
    return w


@pytest.fixture()
def server():
    with PacedServer(world()) as s:
        yield s


def service_config(sweeps, folder: Path, server, channels=("alpha", "beta"), **schedule) -> Path:
    return sweeps.write_config(folder, server.base_url, list(channels), watch={"interval_minutes": INTERVAL},
                               schedule={"jitter_seconds": 0, "stop_grace_seconds": 5, **schedule})


class Service:
    """`tgsweep run` in its own process group (so the test can kill it with its children)."""

    def __init__(self, sweeps, config: Path):
        self.config = config
        self.log_path = config.parent / "service.log"
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(sweeps.command(config, "run"), stdout=self.log, stderr=subprocess.STDOUT,
                                        cwd=config.parent, env=sweeps.env(), start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def terminate(self, timeout: float = 15) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self, group: bool = False) -> None:
        if group:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self.log.close()


def wait_until(predicate: Callable[[], object], timeout: float, what: str, service: Service | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if service is not None and not service.alive():
            raise AssertionError(f"the service died while waiting for {what}:\n{service.output()[-3000:]}")
        time.sleep(0.05)
    tail = service.output()[-3000:] if service else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def rows(config: Path, sql: str, params=()) -> list[tuple]:
    path = config.parent / "db.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=30)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        db.close()


def job_runs(config: Path) -> list[tuple]:
    db = sqlite3.connect(config.parent / "jobs.db", timeout=30)
    try:
        return db.execute("SELECT id, job, status, exit_code, sweep_id, pid FROM job_runs ORDER BY id").fetchall()
    finally:
        db.close()


def stored(config: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {name: [] for name in SIZES}
    for channel, i in rows(config, "SELECT channel, id FROM posts ORDER BY channel, id"):
        found.setdefault(channel, []).append(i)
    return found


def complete(config: Path, server: PacedServer) -> bool:
    return stored(config) == server.post_ids()


def max_sweep_id(config: Path) -> int:
    return (rows(config, "SELECT coalesce(max(id), 0) FROM sweeps") or [(0,)])[0][0]


def ok_sweeps(config: Path) -> int:
    return len(rows(config, "SELECT id FROM sweeps WHERE status='ok'"))


def new_posts_reported(config: Path) -> int:
    """Posts each sweep said were new, summed over all sweeps that recorded their summary."""
    return sum(json.loads(s)["new_posts"] for (s,) in rows(config, "SELECT stats FROM sweeps WHERE stats IS NOT NULL"))


def assert_store_matches_server(sweeps, config: Path, server: PacedServer) -> None:
    assert stored(config) == server.post_ids()  # nothing lost
    total, distinct = rows(config, "SELECT count(*), count(DISTINCT channel || '/' || id) FROM posts")[0]
    assert total == distinct == sum(len(v) for v in server.post_ids().values())  # nothing twice
    assert rows(config, "PRAGMA integrity_check") == [("ok",)]
    assert rows(config, "SELECT channel, last_id, pending_top FROM cursors ORDER BY channel") == \
        [(name, ids[-1], None) for name, ids in sorted(server.post_ids().items())]
    done = sweeps.cli(config, "verify")
    assert done.returncode == 0, done.stdout + done.stderr


# -- the service ------------------------------------------------------------------------------------

def test_service_sweeps_on_schedule_and_collects_new_posts_exactly_once(sweeps, tmp_path, server):
    config = service_config(sweeps, tmp_path, server)
    service = Service(sweeps, config)
    try:
        wait_until(lambda: complete(config, server) and ok_sweeps(config) >= 1, 30, "the first sweep", service)
        second = sweeps.cli(config, "run", timeout=30)  # one service per jobs database
        assert second.returncode == 2 and f"pid {service.process.pid}" in second.stderr, second.stderr
        status = json.loads(sweeps.cli(config, "status", "--json").stdout)
        assert status["service"] == {"running": True, "pid": service.process.pid,
                                     "jobs_database": str(config.parent / "jobs.db")}
        for round_ in range(2):  # new posts published between runs
            server.publish("alpha", 3)
            server.publish("beta", 1 + round_)
            before = ok_sweeps(config)
            wait_until(lambda: complete(config, server), 20, "the new posts", service)
            wait_until(lambda: ok_sweeps(config) >= before + 1, 20, "one more sweep", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    assert_store_matches_server(sweeps, config, server)
    # each post was new in exactly one sweep; later sweeps fetched one page per channel
    assert new_posts_reported(config) == sum(SIZES.values()) + 3 + 1 + 3 + 2
    runs = [r for r in job_runs(config) if r[1] == "sweep_web"]  # other stages run on their own intervals
    assert len(runs) >= 3
    assert all(status in ("ok", "interrupted") for _, _, status, *_ in runs), runs
    assert [r for r in runs if r[2] == "ok"][0][4] == 1  # the run knows its sweep id
    log = service.output()
    assert "[job=sweep_web run=1 sweep_id=1]" in log  # the child's log lines name the job run and the sweep
    assert "service stopped" in log

    status = json.loads(sweeps.cli(config, "status", "--json").stdout)
    assert status["service"]["running"] is False
    (job,) = [j for j in status["jobs"] if j["id"] == "sweep_web"]
    assert job["every_seconds"] == pytest.approx(1.2)
    assert job["last_run"]["status"] in ("ok", "interrupted") and job["next_run"]


def test_sigterm_mid_sweep_stops_cleanly_and_a_restart_resumes(sweeps, tmp_path, server):
    server.page_delay = 0.3
    config = service_config(sweeps, tmp_path, server)
    service = Service(sweeps, config)
    try:
        wait_until(lambda: len(rows(config, "SELECT 1 FROM posts")) >= 2 * PAGE, 30, "posts mid-sweep", service)
        asked = time.monotonic()
        assert service.terminate() == 0, service.output()
        assert time.monotonic() - asked < 8
    finally:
        service.close()
    assert rows(config, "SELECT status FROM sweeps ORDER BY id DESC LIMIT 1") == [("interrupted",)]
    assert [r for r in job_runs(config) if r[1] == "sweep_web"][-1][2] == "interrupted"  # other jobs run too
    assert not complete(config, server)
    assert rows(config, "PRAGMA integrity_check") == [("ok",)]

    server.page_delay = 0
    server.publish("beta", 2)
    service = Service(sweeps, config)
    try:
        wait_until(lambda: complete(config, server) and ok_sweeps(config) >= 1, 30, "the resumed sweep", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    assert_store_matches_server(sweeps, config, server)
    assert new_posts_reported(config) == sum(SIZES.values()) + 2


def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(sweeps, tmp_path, server):
    """20 runs of the service, each ended by kill -9 at a random point: of the service alone (its
    sweep then stops on SIGTERM from PR_SET_PDEATHSIG), or of the service with its sweep (the whole
    process group); in some runs the sweep alone is killed first (the service records it and goes
    on). New posts are published before every run."""
    rng = random.Random(20)
    server.page_delay = 0.1
    config = service_config(sweeps, tmp_path, server)
    points = []
    for n in range(20):
        server.publish(rng.choice(list(SIZES)), rng.randint(1, 15))
        last = max_sweep_id(config)
        service = Service(sweeps, config)
        try:
            if n % 4 == 3:  # anywhere from start-up on
                time.sleep(rng.uniform(0.2, 1.6))
            else:  # while a sweep is collecting (or just after)
                wait_until(lambda: max_sweep_id(config) > last, 20, "a sweep to start", service)
                time.sleep(rng.uniform(0.05, 0.8))
            if n % 5 == 2:  # the sweep alone first
                (run,) = [r for r in job_runs(config) if r[2] == "running" and r[1] == "sweep_web"] or [None]
                if run is not None:  # (it may have ended a moment ago: then it is recorded as it ended)
                    os.kill(run[5], signal.SIGKILL)
                    wait_until(lambda: any(r[0] == run[0] and r[2] != "running" for r in job_runs(config)), 10,
                               "the service to record the killed sweep", service)
                    assert service.alive()  # a dead sweep does not take the service down
            points.append(len(rows(config, "SELECT 1 FROM posts")))
            service.kill(group=n % 2 == 1)
        finally:
            service.close()
        assert rows(config, "PRAGMA integrity_check") in ([("ok",)], [])
    statuses = [r[2] for r in job_runs(config)]
    assert statuses.count("lost") >= 10 and "killed" in statuses, statuses
    # kills landed mid-sweep: sweeps that never finished (group kills) or stopped on SIGTERM
    unfinished = rows(config, "SELECT count(*) FROM sweeps WHERE status IN ('running', 'interrupted')")[0][0]
    assert unfinished >= 5, (unfinished, points)

    server.page_delay = 0
    service = Service(sweeps, config)
    try:
        wait_until(lambda: complete(config, server) and rows(
            config, "SELECT 1 FROM sweeps WHERE status='ok' AND id = (SELECT max(id) FROM sweeps)"),
            30, "the final sweep", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    assert_store_matches_server(sweeps, config, server)


def job_runs_safe(config: Path) -> list[tuple]:
    try:
        return job_runs(config)
    except sqlite3.OperationalError:  # the service has not created the table yet
        return []


def test_a_hung_sweep_is_stopped_after_the_timeout_and_the_service_goes_on(sweeps, tmp_path, server):
    server.page_delay = 4  # every page takes longer than the whole timeout
    config = service_config(sweeps, tmp_path, server, sweep_timeout_minutes=0.04, stop_grace_seconds=1)
    service = Service(sweeps, config)
    try:
        wait_until(lambda: any(r[2] == "timeout" for r in job_runs_safe(config)), 20, "the timeout", service)
        assert service.alive()
        server.page_delay = 0
        wait_until(lambda: complete(config, server), 30, "a sweep after the hung one", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    assert "still running after 2 s: stopping it" in service.output()
    assert_store_matches_server(sweeps, config, server)


# -- watch and status -------------------------------------------------------------------------------

def test_watch_changes_take_effect_in_a_running_service(sweeps, tmp_path, server):
    config = service_config(sweeps, tmp_path, server, channels=["alpha"])
    service = Service(sweeps, config)
    try:
        wait_until(lambda: stored(config)["alpha"] == server.post_ids()["alpha"], 30, "alpha", service)
        assert sweeps.cli(config, "watch", "add", "@Beta").returncode == 0
        wait_until(lambda: complete(config, server), 30, "beta, added while the service runs", service)

        done = sweeps.cli(config, "watch", "remove", "alpha")
        assert done.returncode == 0 and "the removal wins" in done.stdout
        hidden = server.publish("alpha")
        after = max_sweep_id(config)  # sweeps with a higher id started after the removal
        wait_until(lambda: rows(config, "SELECT 1 FROM sweeps WHERE id > ? AND status='ok'", (after,)),
                   20, "a sweep after the removal", service)
        (latest,) = rows(config, "SELECT stats FROM sweeps WHERE status='ok' ORDER BY id DESC LIMIT 1")[0]
        assert json.loads(latest)["channels"] == ["beta"]
        assert hidden[0] not in stored(config)["alpha"]  # removed: not swept, though still in the config file

        listed = [json.loads(line) for line in sweeps.cli(config, "watch", "list", "--json").stdout.splitlines()]
        assert {e["channel"]: (e["in_config"], e["in_database"], e["swept"]) for e in listed} == {
            "alpha": (True, False, False), "beta": (False, True, True)}

        assert sweeps.cli(config, "watch", "add", "alpha").returncode == 0
        wait_until(lambda: complete(config, server), 20, "alpha again", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    assert_store_matches_server(sweeps, config, server)
    text = sweeps.cli(config, "watch", "list").stdout
    assert "alpha  watched (config and database)" in text and "beta  watched (database)" in text


def test_watch_rejects_a_bad_name_and_sweep_uses_the_database_watchlist(sweeps, tmp_path, server):
    config = service_config(sweeps, tmp_path, server, channels=[])
    bad = sweeps.cli(config, "watch", "add", "no spaces")
    assert bad.returncode == 2 and "not a Telegram username" in bad.stderr
    assert sweeps.sweep(config).returncode == 2  # nothing to sweep yet
    assert sweeps.cli(config, "watch", "add", "beta").returncode == 0
    done = sweeps.sweep(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert stored(config)["beta"] == server.post_ids()["beta"] and stored(config)["alpha"] == []


def test_status_reports_cursors_flood_waits_backlog_and_errors(sweeps, tmp_path, server):
    config = service_config(sweeps, tmp_path, server)
    assert sweeps.cli(config, "watch", "add", "alpha").returncode == 0  # creates the database
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(timespec="seconds")
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds")
    old = (datetime.now(timezone.utc) - timedelta(days=3)).isoformat(timespec="seconds")
    db = sqlite3.connect(tmp_path / "db.sqlite")
    with db:
        db.execute("INSERT INTO cursors(channel, source, last_id, not_before, last_success, last_error, updated_at) "
                   "VALUES ('alpha', 'web', 40, ?, ?, 'http: 502', ?)", (soon, past, past))
        db.execute("INSERT INTO cursors(channel, source, last_id, not_before, updated_at) "
                   "VALUES ('beta', 'web', 7, ?, ?)", (past, past))
        db.execute("INSERT INTO alerts(id, type, subject, severity, created_at, payload) "
                   "VALUES ('a1', 'bot', 'bot:x', 'high', ?, '{}'), ('a2', 'bot', 'bot:y', 'high', ?, '{}')",
                   (past, past))
        db.execute("INSERT INTO alerts(id, type, subject, severity, created_at, payload, state) "
                   "VALUES ('a3', 'bot', 'bot:z', 'low', ?, '{}', 'delivered')", (past,))
        db.executemany("INSERT INTO sweep_errors(at, channel, kind, message) VALUES (?,?,?,?)",
                       [(past, "alpha", "http", "gave up on /s/alpha: 502"), (past, "beta", "parse", "no posts"),
                        (old, "alpha", "http", "long ago")])
    db.close()

    done = sweeps.cli(config, "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["service"]["running"] is False
    jobs = {j["id"]: (j["last_run"], j["next_run"]) for j in status["jobs"]}
    assert jobs["sweep_web"] == (None, None) and all(v == (None, None) for v in jobs.values())
    channels = {c["channel"]: c for c in status["channels"]}
    assert channels["alpha"]["last_id"] == 40 and channels["alpha"]["flood_wait"] is True
    assert channels["alpha"]["last_success"] == past and channels["alpha"]["last_error"] == "http: 502"
    assert channels["beta"]["flood_wait"] is False
    assert status["flood_waits"] == [{"channel": "alpha", "source": "web", "until": soon}]
    assert status["alerts"] == {"pending": 2, "oldest_pending": past, "dead": 0, "delivered": 1}
    errors = status["errors_last_day"]
    assert errors["count"] == 2 and errors["by_kind"] == {"http": 1, "parse": 1}
    assert {e["message"] for e in errors["recent"]} == {"gave up on /s/alpha: 502", "no posts"}

    text = sweeps.cli(config, "status").stdout
    assert "service: not running" in text
    assert "sweep_web  every 0.02 min  never run" in text
    assert f"alpha (web), cursor 40, last success {past}, FLOOD WAIT until {soon}, last error: http: 502" in text
    assert f"flood waits in force: alpha until {soon}" in text
    assert f"alert backlog: 2 pending (oldest {past}), 0 dead, 1 delivered" in text
    assert "errors in the last day: 2 (http 1, parse 1)" in text
