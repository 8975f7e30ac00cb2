"""Progress to the end and an honest summary line: the stages show, the status matches the exit."""
from __future__ import annotations

import os
import pty
import subprocess
from datetime import datetime, timedelta, timezone

from store.records import Post
from tgsweep.demo.tme_server import Entity, World, fill_text_entities


def _world() -> World:
    world = World(page_size=5)
    chan = Entity(username="progress_chan", id=9900, title="Progress")
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    chan.posts += [fill_text_entities(Post(channel="progress_chan", id=n, date=(start + timedelta(hours=n)).isoformat(),
                                           text=f"post {n}", channel_id=9900)) for n in range(1, 12)]
    world.add(chan)
    return world


def test_off_a_terminal_each_later_stage_says_it_started(sweeps, tmp_path):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["progress_chan"])
        done = sweeps.cli(config, "sweep")  # progress on, stderr a pipe: plain lines
    assert done.returncode == 0, done.stderr
    for number, name in enumerate(("enrich", "detect", "automation", "graph", "deliver"), start=1):
        assert f"stage {name} ({number}/5)" in done.stderr
    assert done.stdout.startswith("sweep 1 ok in ")


def test_on_a_terminal_the_live_display_shows_rate_and_stages(sweeps, tmp_path):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["progress_chan"])
        leader, follower = pty.openpty()
        env = sweeps.env() | {"TERM": "xterm", "COLUMNS": "200"}
        process = subprocess.Popen(sweeps.command(config, "sweep"), stdout=subprocess.PIPE, stderr=follower,
                                   env=env, cwd=tmp_path)
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        stdout, _ = process.communicate(timeout=60)
        os.close(leader)
    assert process.returncode == 0
    assert b"pages/s" in screen and b"stages" in screen
    assert stdout.decode().startswith("sweep 1 ok in ")


def test_the_summary_never_says_ok_when_the_sweep_failed(sweeps, tmp_path):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["progress_chan"], web={"max_retries": 0})
    done = sweeps.sweep(config)  # nothing listens on port 9
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("sweep 1 ") and " ok " not in first and ("problems" in first or "failed" in first)
