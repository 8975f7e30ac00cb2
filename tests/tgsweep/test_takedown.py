"""`tgsweep takedown check` against the loopback t.me server: up, inconclusive, taken down."""
from __future__ import annotations

import json
import urllib.request

import pytest

from store.records import Post
from graph.takedown.check import classify_embed, latency, next_state
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

BOT = "undressxbot"


def world() -> World:
    w = World(page_size=10)
    alpha = Entity(username="alpha", id=7001, title="Alpha", counters={"subscribers": 5})
    for i, text in enumerate(["morning news", f"try https://t.me/{BOT}?start=ref42 now", "evening news"], start=1):
        alpha.posts.append(fill_text_entities(Post("alpha", i, f"2026-05-01T0{i}:00:00+00:00", text, channel_id=7001)))
    w.add(alpha)
    w.add(Entity(username=BOT, id=9001, title="Undress X", kind="bot", description="synthetic test bot"))
    return w


@pytest.fixture()
def server(sweeps):
    with sweeps.Server(world()) as s:
        yield s


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_classify_the_servers_embed_pages(server):
    status, body = fetch(f"{server.base_url}/alpha/2?embed=1&mode=tme")
    assert classify_embed(status, body, "alpha", 2) == ("up", "post shown")
    assert classify_embed(status, body, "alpha", 3)[0] == "error"  # another post's widget proves nothing
    assert server.delete_post("alpha", 2) and not server.delete_post("alpha", 2)
    status, body = fetch(f"{server.base_url}/alpha/2?embed=1")
    assert classify_embed(status, body, "alpha", 2) == ("down", "Post not found")
    assert classify_embed(502, b"", "alpha", 2) == ("error", "http 502")
    assert classify_embed(None, b"", "alpha", 2, "ConnectionRefusedError") == \
        ("error", "no answer: ConnectionRefusedError")
    assert classify_embed(404, b"", "alpha", 2)[0] == "error"  # a bare 404 is no proof: only t.me's widget
    assert [p.id for p in server.world.get("alpha").posts] == [1, 3]  # gone from the feed too


def test_state_keeps_the_first_takedown_and_notices_a_return():
    s = next_state(None, "up", "post shown", "2026-05-02T00:00:00+00:00")
    s = next_state(s, "error", "http 502", "2026-05-02T01:00:00+00:00")
    assert s["taken_down_at"] is None and s["last_seen_up_at"] == "2026-05-02T00:00:00+00:00"
    s = next_state(s, "down", "Post not found", "2026-05-02T02:00:00+00:00")
    s = next_state(s, "down", "Post not found", "2026-05-02T03:00:00+00:00")
    assert s["taken_down_at"] == "2026-05-02T02:00:00+00:00" and s["checks"] == 4
    assert s["first_checked_at"] == "2026-05-02T00:00:00+00:00"
    s |= {"escalated_at": "2026-05-01T02:00:00+00:00", "post_first_seen": "2026-05-01T00:00:00+00:00"}
    assert latency(s) == {"from_escalation": 86400.0, "from_first_seen": 93600.0}
    back = next_state(s, "up", "post shown", "2026-05-03T00:00:00+00:00")
    assert back["taken_down_at"] is None and "back up" in back["last_detail"]


def test_an_escalated_post_deleted_on_the_server_is_recorded_as_taken_down(sweeps, tmp_path, server):
    config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], web={"max_retries": 1})
    done = sweeps.sweep(config)
    assert done.returncode == 0, done.stdout + done.stderr
    db = sweeps.db_path(config)
    import sqlite3

    with sqlite3.connect(db) as conn:  # the graph stage found it escalated (interface 3)
        conn.execute("INSERT OR REPLACE INTO escalations(subject, kind, score, reasons, computed_at, escalated_at) "
                     "VALUES (?,?,?,?,?,?)", (f"bot:{BOT}", "bot", 0.95, json.dumps(["deepfake_generator verdict"]),
                                              "2026-05-01T13:00:00+00:00", "2026-05-01T12:00:00+00:00"))
    conn.close()
    url = "https://t.me/alpha/2"

    server.add_faults("/alpha/2", {"status": 502}, {"status": 502})  # every try of the first check fails
    first = sweeps.cli(config, "takedown", "check")
    assert first.returncode == 1 and "1 inconclusive" in first.stdout, first.stdout + first.stderr
    assert sweeps.rows(config, "SELECT last_status, taken_down_at, checks FROM takedown_checks WHERE url=?",
                       (url,)) == [("error", None, 1)]

    second = sweeps.cli(config, "takedown", "check")
    assert second.returncode == 0 and "1 up" in second.stdout, second.stdout + second.stderr
    (row,) = sweeps.rows(config, "SELECT last_status, taken_down_at, last_seen_up_at, capture_sha256, escalated_at "
                                 "FROM takedown_checks WHERE url=?", (url,))
    assert row[0] == "up" and row[1] is None and row[2] and row[4] == "2026-05-01T12:00:00+00:00"
    assert sweeps.rows(config, "SELECT kind FROM raw_captures WHERE sha256=?", (row[3],)) == [("embed_page",)]
    assert sweeps.value(config, "SELECT count(*) FROM custody_log WHERE sha256=?", (row[3],)) == 1

    assert sweeps.admin(server.base_url, "posts", {"channel": "alpha", "id": 2}, method="DELETE") == \
        {"ok": True, "deleted": True}
    third = sweeps.cli(config, "takedown", "check")
    assert third.returncode == 0 and "1 gone (1 newly)" in third.stdout, third.stdout + third.stderr
    (row,) = sweeps.rows(config, "SELECT last_status, taken_down_at, last_detail, checks FROM takedown_checks")
    assert row[0] == "down" and row[1] and row[2] == "Post not found" and row[3] == 3
    assert [r["path"] for r in server.requests("/alpha/")] == ["/alpha/2"] * 4  # 2 tries, then 1 per check
    # the post is kept, with its deletion as a version citing the "Post not found" capture
    assert sweeps.rows(config, "SELECT kind, source, capture_sha256 FROM post_versions WHERE channel='alpha' AND id=2 "
                               "ORDER BY version DESC LIMIT 1") == [("deleted", "embed", row_capture(sweeps, config))]
    assert sweeps.value(config, "SELECT count(*) FROM posts WHERE channel='alpha' AND id=2") == 1

    listed = json.loads(sweeps.cli(config, "takedown", "list", "--json").stdout)
    assert listed["down"] == 1 and listed["posts"][0]["latency_seconds"]["from_escalation"] > 0
    status = json.loads(sweeps.cli(config, "status", "--json").stdout)
    assert status["takedowns"]["down"] == 1 and status["takedowns"]["tracked"] == 1
    assert sweeps.cli(config, "verify").returncode == 0  # the check's captures are in the custody chain


def row_capture(sweeps, config) -> str:
    return sweeps.value(config, "SELECT capture_sha256 FROM takedown_checks")
