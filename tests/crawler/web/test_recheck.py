"""`tgsweep bots refresh`: stale bot profiles are re-read through the spider's entity path and re-scored."""
from __future__ import annotations

import pytest

from store.records import Post
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

BOT, GONE = "undressxbot", "oldhelperbot"


def world() -> World:
    w = World(page_size=10)
    alpha = Entity(username="alpha", id=7001, title="Alpha", counters={"subscribers": 5})
    alpha.posts.append(fill_text_entities(Post("alpha", 1, "2026-05-01T01:00:00+00:00",
                                               f"try https://t.me/{BOT}?start=r1 and @{GONE}", channel_id=7001)))
    w.add(alpha)
    w.add(Entity(username=BOT, id=9001, title="Photo Tool", kind="bot", description="synthetic test bot"))
    w.add(Entity(username=GONE, id=9002, title="Old Helper", kind="bot", description="weather forecasts"))
    return w


@pytest.fixture()
def server(sweeps):
    with sweeps.Server(world()) as s:
        yield s


def test_refresh_rereads_only_stale_profiles_and_rescores(sweeps, tmp_path, server):
    config = sweeps.write_config(tmp_path, server.base_url, ["alpha"])
    done = sweeps.sweep(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sweeps.rows(config, "SELECT username, description FROM bots ORDER BY username") == [
        (GONE, "weather forecasts"), (BOT, "synthetic test bot")]
    captures = sweeps.value(config, "SELECT count(*) FROM raw_captures WHERE kind='entity_page'")

    server.clear_requests()
    fresh = sweeps.cli(config, "bots", "refresh")  # read moments ago: not stale at 7 days
    assert fresh.returncode == 0 and "0 profiles older than 7 days" in fresh.stdout, fresh.stdout + fresh.stderr
    assert server.requests() == []

    server.world.get(BOT).description = "undress anyone: upload a photo (synthetic)"
    del server.world.entities[GONE]  # banned: t.me now shows the generic contact page
    config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], bots={"refresh_after_days": 0})
    done = sweeps.cli(config, "bots", "refresh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 profiles older than 0 days, 2 re-read, 1 no longer resolve" in done.stdout
    assert sorted(r["path"] for r in server.requests()) == [f"/{GONE}", f"/{BOT}"]
    assert sweeps.value(config, "SELECT description FROM bots WHERE username=?", (BOT,)) == \
        "undress anyone: upload a photo (synthetic)"
    assert sweeps.value(config, "SELECT confirmed FROM bots WHERE username=?", (GONE,)) is None
    assert sweeps.value(config, "SELECT count(*) FROM raw_captures WHERE kind='entity_page'") == captures + 2
    assert sweeps.value(config, "SELECT count(*) FROM bots WHERE scored_at IS NOT NULL") == 2
    assert sweeps.cli(config, "verify").returncode == 0
