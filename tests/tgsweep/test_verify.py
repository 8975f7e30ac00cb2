"""`tgsweep verify` re-derives posts, media rows and verdicts from the evidence, and an anchored
head catches a custody chain recomputed from scratch."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from store.records import Button, MediaItem, Post
from store.custody import GENESIS, entry_hash
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

START = datetime(2026, 5, 1, tzinfo=timezone.utc)


def _world() -> World:
    world = World(page_size=20)
    world.files["a.jpg"] = encode(picture(901, (48, 36)))
    chan = Entity(username="verify_chan", id=9500, title="Verify")
    for n in range(1, 6):
        media = [MediaItem(kind="photo", url="/file/a.jpg", width=48, height=36)] if n == 2 else []
        buttons = [Button(text="Try", url="https://t.me/undress_magic_bot?start=x")] if n == 3 else []
        chan.posts.append(fill_text_entities(Post(
            channel="verify_chan", id=n, date=(START + timedelta(hours=n)).isoformat(),
            text="AI removes clothes from any photo, try @undress_magic_bot" if n == 3 else f"post {n}",
            media=media, buttons=buttons, channel_id=9500)))
    world.add(chan)
    world.add(Entity(username="undress_magic_bot", id=9600, title="Undress Magic", kind="bot",
                     description="Send a photo of any girl: the AI removes clothes. Nudify in seconds."))
    return world


@pytest.fixture(scope="module")
def swept(sweeps, tmp_path_factory):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path_factory.mktemp("verify"), server.base_url, ["verify_chan"])
        done = sweeps.sweep(config)
        assert done.returncode == 0, done.stdout + done.stderr
    return config


@pytest.fixture
def copy(swept, sweeps, tmp_path):
    """A private copy of the swept store to tamper with."""
    shutil.copy(sweeps.db_path(swept), tmp_path / "db.sqlite")
    shutil.copytree(sweeps.media_dir(swept), tmp_path / "media")
    shutil.copytree(swept.parent / "warc", tmp_path / "warc")  # the WARC files the custody chain holds
    config = tmp_path / "config.toml"
    config.write_text(swept.read_text())
    return config


def _sql(sweeps, config, *statements: str) -> None:
    db = sqlite3.connect(sweeps.db_path(config))
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def test_an_untouched_store_verifies(copy, sweeps):
    done = sweeps.cli(copy, "verify")
    assert done.returncode == 0, done.stdout
    assert sweeps.value(copy, "SELECT label FROM bots WHERE username='undress_magic_bot'") == "deepfake_generator"


@pytest.mark.parametrize("tamper, problem", [
    (["UPDATE posts SET text='harmless' WHERE id=3"], "post verify_chan/3: text differs"),
    (["UPDATE posts SET text='harmless' WHERE id=3", "UPDATE post_versions SET text='harmless' WHERE id=3"],
     "post verify_chan/3 v1: differs from its capture"),
    (["DELETE FROM posts WHERE id=4"], "post verify_chan/4: has versions but was removed"),
    (["INSERT INTO posts(channel, id, text, source, record, first_seen, last_seen) "
      "VALUES ('verify_chan', 99, 'planted', 'web', '{}', 'x', 'x')"], "post verify_chan/99: has no recorded version"),
    (["UPDATE bots SET label='benign' WHERE username='undress_magic_bot'"],
     "bot undress_magic_bot: label 'benign' is neither"),
    (["UPDATE media_items SET sha256='" + "ab" * 32 + "' WHERE post_id=2"], "names a file the store does not have"),
])
def test_tampered_tables_do_not_verify(copy, sweeps, tamper, problem):
    _sql(sweeps, copy, *tamper)
    done = sweeps.cli(copy, "verify")
    assert done.returncode == 1
    assert problem in done.stdout, done.stdout


def test_a_recomputed_chain_verifies_alone_but_not_against_its_anchor(copy, sweeps, tmp_path):
    anchor = tmp_path / "anchor.jsonl"
    first = sweeps.cli(copy, "verify", "--anchor", str(anchor))
    assert first.returncode == 0, first.stdout
    assert len(anchor.read_text().splitlines()) == 1 and oct(anchor.stat().st_mode & 0o777) == "0o600"
    # rewrite one entry's URL and recompute every hash after it, as someone with write access could
    rows = sweeps.rows(copy, "SELECT seq, at, action, sha256, url, sweep_id FROM custody_log ORDER BY seq")
    statements = ["DROP TRIGGER custody_log_no_update", "DROP TRIGGER custody_log_no_delete", "DELETE FROM custody_log"]
    prev = GENESIS
    for seq, at, action, digest, url, sweep_id in rows:
        url = "https://elsewhere.example/" if seq == 1 else url
        link = entry_hash(prev, seq, at, action, digest, url, sweep_id)
        statements.append("INSERT INTO custody_log VALUES (%d, %s, %s, %s, %s, %s, %s, %s)" % (
            seq, json.dumps(at), json.dumps(action), json.dumps(digest), json.dumps(url),
            "NULL" if sweep_id is None else sweep_id, json.dumps(prev), json.dumps(link)))
        prev = link
    _sql(sweeps, copy, *[s.replace('"', "'") if s.startswith("INSERT") else s for s in statements])
    assert sweeps.cli(copy, "verify").returncode == 0  # the chain alone cannot tell
    done = sweeps.cli(copy, "verify", "--anchor", str(anchor))
    assert done.returncode == 1
    assert "the chain was rewritten" in done.stdout
