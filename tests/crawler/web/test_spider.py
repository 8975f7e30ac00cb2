"""The web collector end to end: a real Scrapy crawl (`tgsweep sweep` in a subprocess) over a
loopback t.me server, read back from the database and through `tgsweep export messages`.

Each crawl needs its own process (Twisted's reactor runs once), so crawls are shared by the
tests that look at them: module-scoped fixtures run the sweeps, the tests assert.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sqlite3
import zlib
from collections import Counter
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from store.records import Button, Forward, MediaItem, Post
from tgsweep.demo.corpus import decompression_bomb_png, encode, picture
from tgsweep.demo.tme_server import Entity, World, absolute_urls, fill_text_entities

START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
CONTRACT_FIELDS = {"channel", "id", "date", "text", "views", "forwarded_from", "via_bot", "links", "bot_refs",
                   "media", "source"}
MEDIA_HASH_FIELDS = {"kind", "sha256", "md5", "pdq", "phash", "cluster", "bank_matches"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_ids(sweeps, config, channel: str) -> list[int]:
    return [r[0] for r in sweeps.rows(config, "SELECT id FROM posts WHERE channel=? ORDER BY id", (channel,))]


def world_ids(world: World, channel: str) -> list[int]:
    return [p.id for p in world.get(channel).posts]


def new_posts(stdout: str) -> int:
    m = re.search(r"(\d+) new posts", stdout)
    assert m, stdout
    return int(m.group(1))


def feed_requests(server, channel: str) -> list[str]:
    """Queries of the /s/<channel> requests served so far ("" for the newest page)."""
    return [r["query"] for r in server.requests(f"/s/{channel}") if r["path"] == f"/s/{channel}"]


def plain_channel(username: str, cid: int, count: int, first_id: int = 1, text: str = "Note {n}") -> Entity:
    entity = Entity(username=username, id=cid, title=username.title(), counters={"subscribers": 100 + count})
    for n in range(count):
        post = Post(channel=username, id=first_id + n, date=(START + timedelta(hours=n)).isoformat(),
                    text=text.format(n=n), views=10 + n, channel_id=cid)
        entity.posts.append(fill_text_entities(post))
    return entity


# --------------------------------------------------------------------------------------------
# The main crawl: pagination, fields, contract, incremental re-sweeps, no preview, discovery


ALPHA_WRAPS = 95


def main_world() -> World:
    """@alpha: 95 wraps in pages of 20, albums (3 ids each), id gaps, forwards, via bot, buttons.

    @beta is reachable only by alpha's forwards, @gamma only by a link in beta (two hops),
    @closed has no public preview, @helper_bot is referenced by mention, button and via.
    """
    world = World(page_size=20)
    for i in range(5):
        world.files[f"a{i}.jpg"] = encode(picture(300 + i, (64, 48)))
    world.files["clip.mp4"] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00" + bytes(range(256)) * 4
    world.files["clip_thumb.jpg"] = encode(picture(399, (32, 24)))
    alpha = Entity(username="alpha", id=1001, title="Alpha News", description="Daily notes",
                   counters={"subscribers": 1500})
    next_id = 1
    for i in range(ALPHA_WRAPS):
        fields: dict = {}
        text = f"Post {i}: see https://example.com/a/{i}"
        media: list[MediaItem] = []
        if i % 10 == 3:  # an album: one wrap, three ids
            media = [MediaItem(kind="photo", url=f"/file/a{(i + k) % 5}.jpg", post_id=next_id + k,
                               width=64, height=48) for k in range(3)]
        elif i % 10 == 7:
            media = [MediaItem(kind="photo", url=f"/file/a{i % 5}.jpg", width=64, height=48)]
        elif i == 42:
            media = [MediaItem(kind="video", url="/file/clip.mp4", thumb_url="/file/clip_thumb.jpg", duration=12)]
        if i % 9 == 1:
            src = i % 12 + 1
            fields["forwarded_from"] = Forward(channel="beta", post=src, name="Beta", url=f"https://t.me/beta/{src}")
        if i == 50:
            fields["forwarded_from"] = Forward(name="Secret Source")
        if i % 11 == 2:
            fields["via_bot"] = "helper_bot"
        if i % 13 == 4:
            fields["buttons"] = [Button(text="Open helper", url=f"https://t.me/helper_bot?start=ref{i}")]
        if i % 17 == 5:
            text += " ask @Helper_Bot"
        post = Post(channel="alpha", id=next_id, date=(START + timedelta(hours=i)).isoformat(), text=text,
                    views=100 + i, media=media, channel_id=alpha.id, **fields)
        alpha.posts.append(fill_text_entities(post))
        next_id += len(media) if len(media) > 1 else 1
        if i % 7 == 5:
            next_id += 2  # deleted posts leave gaps
    world.add(alpha)
    beta = plain_channel("beta", 1002, 12, text="Beta note {n}")
    beta.posts[6].text = "More at https://t.me/gamma"
    fill_text_entities(beta.posts[6])
    world.add(beta)
    world.add(plain_channel("gamma", 1003, 5))
    world.add(plain_channel("delta", 1004, 3))
    world.add(Entity(username="closed", id=1005, title="Closed Club", preview=False, description="Members only",
                     counters={"subscribers": 77}))
    world.add(Entity(username="helper_bot", id=1006, title="Helper", kind="bot", description="Helps with photos."))
    return world


def published_posts(world: World) -> list[dict]:
    """What sweep 3 finds: 25 new alpha posts (more than a page, one id gap) and a beta post linking delta."""
    newest = max(max([p.id] + [m.post_id or 0 for m in p.media]) for p in world.get("alpha").posts)
    ids = [newest + k for k in range(1, 25)] + [newest + 27]
    posts = [{"channel": "alpha", "id": n, "date": (START + timedelta(days=30, hours=k)).isoformat(),
              "text": f"Fresh post {k} https://example.com/new/{k}", "views": 5} for k, n in enumerate(ids)]
    posts.append({"channel": "beta", "id": 13, "date": (START + timedelta(days=31)).isoformat(),
                  "text": "Friends of ours: https://t.me/delta", "views": 3})
    return posts


@pytest.fixture(scope="module")
def main_crawl(sweeps, tmp_path_factory):
    world = main_world()
    before = copy.deepcopy(world)
    folder = tmp_path_factory.mktemp("main")
    with sweeps.Server(world) as server:
        config = sweeps.write_config(folder, server.base_url, ["alpha", "closed"],
                                     discovery={"enabled": True, "max_depth": 1})
        first = sweeps.sweep(config)
        first_requests = server.requests()
        first_export = sweeps.export(config)
        first_alpha_ids = stored_ids(sweeps, config, "alpha")
        first_beta_ids = stored_ids(sweeps, config, "beta")
        first_cursor = sweeps.rows(config, "SELECT last_id, pending_top, pending_bottom FROM cursors "
                                           "WHERE channel='alpha' AND source='web'")

        server.clear_requests()
        second = sweeps.sweep(config)
        second_requests = server.requests()

        published = published_posts(world)
        for post in published:
            assert sweeps.admin(server.base_url, "posts", post)["ok"]
        server.clear_requests()
        third = sweeps.sweep(config)
        third_requests = server.requests()
        yield SimpleNamespace(world=world, before=before, server=server, config=config, base_url=server.base_url,
                              first=first, first_requests=first_requests, first_export=first_export,
                              first_alpha_ids=first_alpha_ids, first_beta_ids=first_beta_ids,
                              first_cursor=first_cursor, second=second, second_requests=second_requests,
                              published=published, third=third, third_requests=third_requests)


def test_first_sweep_collects_every_post_once_across_pages_albums_and_gaps(main_crawl, sweeps):
    c = main_crawl
    assert c.first.returncode == 0, c.first.stdout + c.first.stderr
    expected = world_ids(c.before, "alpha")
    assert len(expected) == ALPHA_WRAPS and expected[-1] > ALPHA_WRAPS + 20  # gaps and album ids in the world
    assert c.first_alpha_ids == expected
    assert c.first_beta_ids == list(range(1, 13))
    assert new_posts(c.first.stdout) == ALPHA_WRAPS + 12
    # five pages of 20, each fetched once, newest first, each older than the last
    pages = [r["query"] for r in c.first_requests if r["path"] == "/s/alpha"]
    assert len(pages) == 5 and pages[0] == ""
    befores = [int(q.removeprefix("before=")) for q in pages[1:]]
    assert befores == sorted(befores, reverse=True) and len(set(befores)) == 4
    # album item ids are kept on the album's media items, not made into posts of their own
    albums = {p.id: [m.post_id for m in p.media] for p in c.before.get("alpha").posts if len(p.media) == 3}
    assert len(albums) == 10
    for post_id, item_ids in albums.items():
        got = [r[0] for r in sweeps.rows(c.config, "SELECT item_post_id FROM media_items WHERE channel='alpha' "
                                                   "AND post_id=? ORDER BY position", (post_id,))]
        assert got == item_ids == [post_id, post_id + 1, post_id + 2]
    newest = max(max([p.id] + [m.post_id or 0 for m in p.media]) for p in c.before.get("alpha").posts)
    assert c.first_cursor == [(newest, None, None)]
    assert sweeps.value(c.config, "SELECT status FROM sweeps WHERE id=1") == "ok"


def test_stored_records_keep_every_field_the_page_shows(main_crawl, sweeps):
    c = main_crawl
    records = {r[0]: json.loads(r[1]) for r in sweeps.rows(
        c.config, "SELECT id, record FROM posts WHERE channel='alpha'")}
    checked = Counter()
    for post in c.before.get("alpha").posts:
        want = absolute_urls(post, c.base_url).to_dict()
        got = records[post.id]
        for key in ("text", "links", "mentions", "date", "views", "forwarded_from", "via_bot", "buttons",
                    "channel_id", "source"):
            assert got[key] == want[key], (post.id, key)
        assert [(m["kind"], m["url"], m["thumb_url"], m["post_id"], m["duration"]) for m in got["media"]] == \
               [(m["kind"], m["url"], m["thumb_url"], m["post_id"], m["duration"]) for m in want["media"]], post.id
        checked.update(k for k in ("forwarded_from", "via_bot", "buttons", "media") if want[k])
    assert checked == {"forwarded_from": 12, "via_bot": 9, "buttons": 7, "media": 20}
    both = next(p for p in c.before.get("alpha").posts if p.via_bot and p.forwarded_from)
    row = sweeps.rows(c.config, "SELECT forwarded_channel, forwarded_post, forwarded_name, via_bot FROM posts "
                                "WHERE channel='alpha' AND id=?", (both.id,))
    assert row == [("beta", both.forwarded_from.post, "Beta", "helper_bot")]


def test_exported_messages_carry_the_contract_fields(main_crawl, sweeps):
    c = main_crawl
    messages = {(m["channel"], m["id"]): m for m in c.first_export}
    assert len(messages) == len(c.first_export) == ALPHA_WRAPS + 12
    files = c.world.files
    for post in c.before.get("alpha").posts:
        m = messages[("alpha", post.id)]
        assert CONTRACT_FIELDS <= set(m), post.id
        assert m["channel"] == "alpha" and m["source"] == "web" and m["views"] == post.views
        assert datetime.fromisoformat(m["date"]) == datetime.fromisoformat(post.date)
        assert m["text"] == post.text and m["links"] == post.links
        fwd = post.forwarded_from
        assert m["forwarded_from"] == (None if fwd is None else {"channel": fwd.channel, "post": fwd.post}
                                       if fwd.channel else {"name": fwd.name})
        assert m["via_bot"] == post.via_bot
        refers = bool(post.via_bot or post.buttons or "@Helper_Bot" in post.text)
        assert m["bot_refs"] == (["helper_bot"] if refers else []), post.id
        assert [item["kind"] for item in m["media"]] == [item.kind for item in post.media]
        for item, want in zip(m["media"], post.media):
            assert MEDIA_HASH_FIELDS <= set(item) and "error" not in item, (post.id, item)
            data = files[want.url.removeprefix("/file/")]
            assert item["sha256"] == sha(data) and item["md5"] == hashlib.md5(data).hexdigest()
            assert item["bank_matches"] == []
    hidden = next(p for p in c.before.get("alpha").posts if p.forwarded_from and not p.forwarded_from.channel)
    assert messages[("alpha", hidden.id)]["forwarded_from"] == {"name": "Secret Source"}
    video = next(m for m in messages.values() if m["media"] and m["media"][0]["kind"] == "video")
    assert video["media"][0]["thumb_sha256"] == sha(files["clip_thumb.jpg"])
    assert video["media"][0]["duration"] == 12


def test_a_channel_without_public_preview_is_recorded_not_an_error(main_crawl, sweeps):
    c = main_crawl
    assert c.first.returncode == 0
    assert "no public preview: closed" in c.first.stdout
    row = sweeps.rows(c.config, "SELECT has_preview, kind, title, description, watched FROM channels "
                                "WHERE username='closed'")
    assert row == [(0, "channel", "Closed Club", "Members only", 1)]
    assert sweeps.rows(c.config, "SELECT kind, message FROM sweep_errors WHERE channel='closed'") == []
    assert stored_ids(sweeps, c.config, "closed") == []
    assert [r["status"] for r in c.first_requests if r["path"] == "/s/closed"] == [302]
    assert [r["status"] for r in c.first_requests if r["path"] == "/closed"] == [200]


def test_discovery_sweeps_a_channel_found_by_forward_one_hop_away(main_crawl, sweeps):
    c = main_crawl
    (discovered_from, depth, watched), = sweeps.rows(
        c.config, "SELECT discovered_from, depth, watched FROM channels WHERE username='beta'")
    m = re.fullmatch(r"forward in alpha/(\d+)", discovered_from or "")
    assert m, discovered_from
    source = next(p for p in c.before.get("alpha").posts if p.id == int(m.group(1)))
    assert source.forwarded_from.channel == "beta"
    assert (depth, watched) == (1, 0)
    assert f"discovered beta (forward in alpha/{source.id})" in c.first.stdout
    # gamma is two hops away (linked from beta): known as a name, never swept
    assert stored_ids(sweeps, c.config, "gamma") == []
    assert all(r["path"] != "/s/gamma" for r in c.first_requests + c.second_requests + c.third_requests)
    assert sweeps.rows(c.config, "SELECT target, how FROM channel_refs WHERE channel='beta' ORDER BY target") == \
           [("delta", "link"), ("gamma", "link")]


def test_referenced_bots_get_their_public_profile_read(main_crawl, sweeps):
    c = main_crawl
    row = sweeps.rows(c.config, "SELECT confirmed, title, description FROM bots WHERE username='helper_bot'")
    assert row == [(1, "Helper", "Helps with photos.")]
    hows = {r[0] for r in sweeps.rows(c.config, "SELECT DISTINCT how FROM bot_refs WHERE bot='helper_bot'")}
    assert hows == {"via", "mention", "link", "button"}
    assert sweeps.rows(c.config, "SELECT DISTINCT bot FROM bot_refs") == [("helper_bot",)]
    assert [r["status"] for r in c.first_requests if r["path"] == "/helper_bot"] == [200]  # read once


def test_a_second_sweep_without_new_posts_fetches_one_page_per_channel(main_crawl, sweeps):
    c = main_crawl
    assert c.second.returncode == 0, c.second.stdout + c.second.stderr
    assert new_posts(c.second.stdout) == 0
    feeds = [(r["path"], r["query"]) for r in c.second_requests if r["path"].startswith("/s/")]
    assert sorted(feeds) == [("/s/alpha", ""), ("/s/beta", ""), ("/s/closed", "")]
    assert not [r for r in c.second_requests if r["path"].startswith("/file/")]
    assert sweeps.value(c.config, "SELECT status FROM sweeps WHERE id=2") == "ok"


def test_after_new_posts_the_next_sweep_gets_exactly_those(main_crawl, sweeps):
    c = main_crawl
    assert c.third.returncode == 0, c.third.stdout + c.third.stderr
    assert new_posts(c.third.stdout) == 26
    published = sorted(p["id"] for p in c.published if p["channel"] == "alpha")
    assert stored_ids(sweeps, c.config, "alpha") == c.first_alpha_ids + published == world_ids(c.world, "alpha")
    assert stored_ids(sweeps, c.config, "beta") == list(range(1, 14))
    # 25 new posts are more than a page: two pages of alpha, then it meets what it had
    alpha_pages = [r["query"] for r in c.third_requests if r["path"] == "/s/alpha"]
    assert alpha_pages == ["", f"before={published[-20]}"]
    exported = [(m["channel"], m["id"]) for m in sweeps.export(c.config)]
    assert len(exported) == len(set(exported)) == ALPHA_WRAPS + 25 + 13
    newest = max(published)
    assert sweeps.rows(c.config, "SELECT last_id, pending_top FROM cursors WHERE channel='alpha'") == [(newest, None)]
    # the new beta post links to delta, two hops from the watchlist: max_depth 1 keeps it unswept
    assert all(r["path"] != "/s/delta" for r in c.third_requests)
    assert stored_ids(sweeps, c.config, "delta") == []
    assert sweeps.value(c.config, "SELECT depth FROM channels WHERE username='delta'") is None


def test_verify_passes_after_sweeps_and_fails_after_a_capture_is_altered(main_crawl, sweeps, tmp_path):
    c = main_crawl
    done = sweeps.cli(c.config, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "database integrity: ok" in done.stdout
    # one custody entry per page, entity page and media file received (all answered 200 here), and one per
    # WARC file the three sweeps wrote
    entries = int(re.search(r"custody log: (\d+) entries", done.stdout).group(1))
    warcs = list((c.config.parent / "warc").glob("*.warc.gz"))
    assert len(warcs) == 3
    assert entries == sum(1 for r in c.first_requests + c.second_requests + c.third_requests if r["status"] == 200) \
        + len(warcs)
    # a copy of the database with one page's stored HTML changed, still valid zlib
    copy_db = tmp_path / "db.sqlite"
    src, dst = sqlite3.connect(sweeps.db_path(c.config)), sqlite3.connect(copy_db)
    src.backup(dst)
    src.close()
    digest, content = dst.execute("SELECT sha256, content FROM raw_captures WHERE kind='channel_page' "
                                  "ORDER BY first_fetched LIMIT 1").fetchone()
    html = zlib.decompress(content)
    assert b"Post " in html
    dst.execute("UPDATE raw_captures SET content=? WHERE sha256=?",
                (zlib.compress(html.replace(b"Post ", b"Poet ", 1)), digest))
    dst.commit()
    dst.close()
    config = sweeps.write_config(tmp_path, c.base_url, ["alpha"],
                                 storage={"media_dir": str(sweeps.media_dir(c.config)),
                                          "warc_dir": str(c.config.parent / "warc")})
    done = sweeps.cli(config, "verify")
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems[0] == f"PROBLEM raw capture {digest[:16]}: content does not match its SHA-256"
    # the posts read from it no longer re-derive either: each is named
    assert all(p.startswith("PROBLEM post ") and digest[:16] in p for p in problems[1:])


# --------------------------------------------------------------------------------------------
# Rate limits, server errors, soft limits, truncated bodies


def test_rate_limits_and_server_errors_are_retried_and_nothing_is_lost(sweeps, tmp_path):
    world = World(page_size=10)
    alpha = plain_channel("alpha", 2001, 65)
    world.files["f.jpg"] = encode(picture(7, (64, 48)))
    alpha.posts[60].media = [MediaItem(kind="photo", url="/file/f.jpg", width=64, height=48)]  # on the first page
    world.add(alpha)
    with sweeps.Server(world) as server:
        server.add_faults("/s/alpha", {"status": 429, "retry_after": 1})
        server.add_faults("/s/alpha?before=56", {"status": 502})
        server.add_faults("/s/alpha?before=46", {"status": 500}, {"status": 503})
        server.add_faults("/s/alpha?before=36", {"empty": True})
        server.add_faults("/s/alpha?before=26", {"truncate": 0.5})
        server.add_faults("/file/f.jpg", {"status": 503})
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"])
        done = sweeps.sweep(config)
        assert done.returncode == 0, done.stdout + done.stderr
        assert server.pending_faults() == {}
        stamps = server.stamps
    assert stored_ids(sweeps, config, "alpha") == list(range(1, 66))
    statuses: dict[str, list[int]] = {}
    for r in stamps:
        if r["path"] == "/s/alpha":
            statuses.setdefault(r["query"], []).append(r["status"])
    assert statuses == {"": [429, 200], "before=56": [502, 200], "before=46": [500, 503, 200],
                        "before=36": [200, 200], "before=26": [200, 200], "before=16": [200], "before=6": [200]}
    first = [r["at"] for r in stamps if r["path"] == "/s/alpha" and r["query"] == ""]
    assert first[1] - first[0] >= 1.0  # waited Retry-After
    assert "7 retries" in done.stdout
    assert [r["status"] for r in stamps if r["path"] == "/file/f.jpg"] == [503, 200]
    assert sweeps.rows(config, "SELECT status, sha256 FROM media_items WHERE post_id=61") == \
           [("stored", sha(world.files["f.jpg"]))]
    # only whole pages were ingested: one capture per page, none of the error/empty/cut answers
    assert sweeps.value(config, "SELECT count(*) FROM custody_log WHERE action='capture'") == 7
    assert sweeps.rows(config, "SELECT kind, message FROM sweep_errors") == []


def test_persistent_failure_is_recorded_and_the_next_sweep_resumes_where_it_stopped(sweeps, tmp_path):
    world = World(page_size=10)
    world.add(plain_channel("alpha", 2002, 45))
    with sweeps.Server(world) as server:
        server.add_faults("/s/alpha?before=26", *[{"status": 502}] * 3)
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], web={"max_retries": 2})
        first = sweeps.sweep(config)
        assert first.returncode == 1, first.stdout + first.stderr  # done, with problems
        assert server.pending_faults() == {}
        assert stored_ids(sweeps, config, "alpha") == list(range(26, 46))
        errors = sweeps.rows(config, "SELECT sweep_id, kind, channel, url, message FROM sweep_errors")
        assert len(errors) == 1
        sweep_id, kind, channel, url, message = errors[0]
        assert (sweep_id, kind, channel) == (1, "http", "alpha") and url.endswith("/s/alpha?before=26")
        assert "HTTP 502" in message
        assert "error [http] alpha" in first.stdout
        assert sweeps.rows(config, "SELECT last_id, pending_top, pending_bottom FROM cursors") == [(0, 45, 26)]

        server.clear_requests()
        second = sweeps.sweep(config)
        assert second.returncode == 0, second.stdout + second.stderr
        assert feed_requests(server, "alpha") == ["", "before=26", "before=16", "before=6"]
    assert new_posts(second.stdout) == 25
    assert stored_ids(sweeps, config, "alpha") == list(range(1, 46))
    assert sweeps.rows(config, "SELECT last_id, pending_top, pending_bottom FROM cursors") == [(45, None, None)]
    assert sweeps.rows(config, "SELECT count(*) FROM sweep_errors WHERE sweep_id=2") == [(0,)]


RAISING_SWEEP = """
import sys
from store.sqlite.collection import CollectionSQL
from tgsweep.cli import main

ingest, calls = CollectionSQL.ingest_page, []

async def failing(self, sweep_id, channel, *args, **kwargs):  # alpha's second page: the database fails
    calls.append(channel)
    if channel == "alpha" and calls.count("alpha") == 2:
        raise RuntimeError("deadlock detected (injected)")
    return await ingest(self, sweep_id, channel, *args, **kwargs)
CollectionSQL.ingest_page = failing
sys.exit(main(sys.argv[1:]))
"""


def test_an_exception_while_handling_a_page_is_recorded_and_the_channel_resumes_next_sweep(sweeps, tmp_path):
    """Scrapy only logs what a callback raises; the sweep records it, says it had problems, and loses nothing."""
    import subprocess
    import sys

    world = World(page_size=10)
    world.add(plain_channel("alpha", 2002, 45))
    world.add(plain_channel("beta", 2003, 15))
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha", "beta"])
        first = subprocess.run([sys.executable, "-c", RAISING_SWEEP, "--config", str(config), "sweep", "--no-progress"],
                               capture_output=True, text=True, timeout=60, cwd=tmp_path, env=sweeps.env())
        assert first.returncode == 1, first.stdout + first.stderr  # done, with problems
        errors = sweeps.rows(config, "SELECT kind, channel, url, message FROM sweep_errors")
        assert len(errors) == 1 and errors[0][:2] == ("internal", "alpha"), errors
        assert errors[0][2].endswith("/s/alpha?before=36") and "RuntimeError: deadlock detected" in errors[0][3]
        assert "error [internal] alpha" in first.stdout
        assert stored_ids(sweeps, config, "alpha") == list(range(36, 46)) and len(stored_ids(sweeps, config, "beta")) == 15
        second = sweeps.sweep(config)
        assert second.returncode == 0, second.stdout + second.stderr
    assert stored_ids(sweeps, config, "alpha") == list(range(1, 46))


# --------------------------------------------------------------------------------------------
# Media: content-addressed files, broken files as errors on their item, hash-only mode

MAX_BYTES = 100_000


def media_world() -> World:
    world = World(page_size=20)
    files = {f"g{i}.jpg": encode(picture(500 + i, (64, 48))) for i in range(1, 5)}
    files["g5.jpg"] = encode(picture(505, (64, 48)))
    files["trunc.jpg"] = encode(picture(600, (200, 150)))[:1500]
    files["text.jpg"] = b"this is a text file, not a picture\n" * 20
    files["bomb.png"] = decompression_bomb_png(10000, 5000)  # 50 Mpx > the default max_pixels
    files["big.jpg"] = os.urandom(MAX_BYTES + 50_000)
    files["clip.mp4"] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00" + bytes(3000)
    world.files.update(files)
    pics = Entity(username="pics", id=3001, title="Pics")

    def photo(name: str, **kw) -> MediaItem:
        return MediaItem(kind="photo", url=f"/file/{name}", width=64, height=48, **kw)

    layout = [
        (1, [photo("g1.jpg")]),
        (2, [photo("g2.jpg", post_id=2), photo("g3.jpg", post_id=3)]),
        (4, [photo("trunc.jpg")]),
        (5, [photo("text.jpg")]),
        (6, [photo("bomb.png")]),
        (7, [photo("big.jpg")]),
        (8, [photo("g1.jpg")]),
        (9, []),
        (10, [MediaItem(kind="video", url="/file/clip.mp4", thumb_url="/file/g4.jpg", duration=3)]),
        (11, [photo("g5.jpg", post_id=11 + k) for k in range(6)]),  # one picture six times, fetched at once
    ]
    for n, media in layout:
        pics.posts.append(fill_text_entities(Post(channel="pics", id=n, date=(START + timedelta(hours=n)).isoformat(),
                                                  text=f"picture post {n}", media=media, channel_id=3001)))
    world.add(pics)
    return world


@pytest.fixture(scope="module")
def media_crawls(sweeps, tmp_path_factory):
    world = media_world()
    with sweeps.Server(world) as server:
        keep_all = sweeps.write_config(tmp_path_factory.mktemp("media_all"), server.base_url, ["pics"],
                                       media={"max_bytes": MAX_BYTES})
        all_run = sweeps.sweep(keep_all)
        all_requests = server.requests()
        server.clear_requests()
        hash_only = sweeps.write_config(tmp_path_factory.mktemp("media_none"), server.base_url, ["pics"],
                                        media={"max_bytes": MAX_BYTES, "keep": "none"})
        none_run = sweeps.sweep(hash_only)
    yield SimpleNamespace(world=world, keep_all=keep_all, all_run=all_run, all_requests=all_requests,
                          hash_only=hash_only, none_run=none_run)


GOOD = {(1, 0): "g1.jpg", (2, 0): "g2.jpg", (2, 1): "g3.jpg", (8, 0): "g1.jpg", (10, 0): "clip.mp4",
        **{(11, k): "g5.jpg" for k in range(6)}}
BROKEN = {4: "corrupt image: image file is truncated", 5: "not an image", 6: "decompression bomb",
          7: f"larger than [media] max_bytes ({MAX_BYTES} bytes)"}


def test_good_media_are_stored_content_addressed(media_crawls, sweeps):
    m = media_crawls
    assert m.all_run.returncode == 0, m.all_run.stdout + m.all_run.stderr
    assert stored_ids(sweeps, m.keep_all, "pics") == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    items = {(r[0], r[1]): r[2:] for r in sweeps.rows(
        m.keep_all, "SELECT post_id, position, status, sha256, thumb_sha256, error FROM media_items")}
    media_dir = sweeps.media_dir(m.keep_all)
    for key, name in GOOD.items():
        status, digest, _, error = items[key]
        data = m.world.files[name]
        assert (status, digest, error) == ("stored", sha(data), None), key
        (path, md5, size), = sweeps.rows(m.keep_all, "SELECT path, md5, size FROM media WHERE sha256=?", (digest,))
        assert path == f"{digest[:2]}/{digest}"
        assert (md5, size) == (hashlib.md5(data).hexdigest(), len(data))
        assert sha((media_dir / path).read_bytes()) == digest
    assert items[(10, 0)][2] == sha(m.world.files["g4.jpg"])  # the video's thumbnail
    dims = sweeps.rows(m.keep_all, "SELECT width, height, mime FROM media WHERE sha256=?",
                       (sha(m.world.files["g2.jpg"]),))
    assert dims == [(64, 48, "image/jpeg")]
    # the same picture in two posts is one file
    kept = sorted(p.name for p in media_dir.rglob("*") if p.is_file())
    assert kept.count(sha(m.world.files["g1.jpg"])) == 1 and kept.count(sha(m.world.files["g5.jpg"])) == 1
    assert not [p for p in media_dir.rglob("*.tmp*")]
    assert sweeps.cli(m.keep_all, "verify").returncode == 0


def test_broken_media_are_errors_on_their_item_and_the_sweep_goes_on(media_crawls, sweeps):
    m = media_crawls
    items = {r[0]: r[1:] for r in sweeps.rows(
        m.keep_all, "SELECT post_id, status, error FROM media_items WHERE position=0")}
    for post_id, reason in BROKEN.items():
        status, error = items[post_id]
        assert status == "error" and reason in (error or ""), (post_id, error)
    assert "4 media errors" in m.all_run.stdout
    errors = sweeps.rows(m.keep_all, "SELECT kind, channel FROM sweep_errors")
    assert errors == [("media", "pics")] * 4
    # the oversized file is refused from its Content-Length, once: a size limit is not worth retrying
    assert [r["status"] for r in m.all_requests if r["path"] == "/file/big.jpg"] == [200]
    exported = {msg["id"]: msg for msg in sweeps.export(m.keep_all)}
    for post_id, reason in BROKEN.items():
        (item,) = exported[post_id]["media"]
        assert reason in item["error"] and "sha256" not in item
    assert exported[9]["media"] == [] and exported[9]["text"] == "picture post 9"
    assert exported[8]["media"][0]["sha256"] == sha(m.world.files["g1.jpg"])


def test_hash_only_mode_records_hashes_and_writes_no_files(media_crawls, sweeps):
    m = media_crawls
    assert m.none_run.returncode == 0, m.none_run.stdout + m.none_run.stderr
    media_dir = sweeps.media_dir(m.hash_only)
    assert not media_dir.exists() or not [p for p in media_dir.rglob("*") if p.is_file()]
    items = {(r[0], r[1]): r[2:] for r in sweeps.rows(
        m.hash_only, "SELECT post_id, position, status, sha256 FROM media_items")}
    for key, name in GOOD.items():
        assert items[key] == ("stored", sha(m.world.files[name])), key
    for post_id in BROKEN:
        assert items[(post_id, 0)][0] == "error"
    assert sweeps.value(m.hash_only, "SELECT count(*) FROM media WHERE path IS NOT NULL") == 0
    assert sweeps.value(m.hash_only, "SELECT count(*) FROM media") == len(set(GOOD.values())) + 1 + 3  # + thumb, broken
    # every picture was fingerprinted from the bytes before they were discarded (the video's bytes are not one)
    for name in sorted({n for n in GOOD.values() if n.endswith(".jpg")}):
        (pdq, quality, phash, error), = sweeps.rows(
            m.hash_only, "SELECT pdq, pdq_quality, phash, fingerprint_error FROM media WHERE sha256=?",
            (sha(m.world.files[name]),))
        assert len(pdq) == 64 and quality is not None and len(phash) == 16 and error is None, name
    assert sweeps.cli(m.hash_only, "verify").returncode == 0


# --------------------------------------------------------------------------------------------
# Discovery switches


def discovery_world() -> World:
    world = World(page_size=20)
    alpha = Entity(username="alpha", id=4001, title="Alpha")
    alpha.posts = [
        Post(channel="alpha", id=1, date=START.isoformat(), text="Shared", channel_id=4001,
             forwarded_from=Forward(channel="beta", post=2, name="Beta", url="https://t.me/beta/2")),
        Post(channel="alpha", id=2, date=START.isoformat(), text="Read https://t.me/gamma/1", channel_id=4001),
        Post(channel="alpha", id=3, date=START.isoformat(), text="Try @helper_bot", channel_id=4001),
    ]
    for post in alpha.posts:
        fill_text_entities(post)
    world.add(alpha)
    world.add(plain_channel("beta", 4002, 3))
    world.add(plain_channel("gamma", 4003, 2))
    world.add(Entity(username="helper_bot", id=4004, title="Helper", kind="bot", description="Helps."))
    return world


@pytest.mark.parametrize("discovery, swept", [
    ({"enabled": False, "max_depth": 1}, {}),
    ({"enabled": True, "max_depth": 0}, {}),
    ({"enabled": True, "max_depth": 1}, {"beta": "forward in alpha/1", "gamma": "link in alpha/2"}),
], ids=["disabled", "max_depth_0", "max_depth_1"])
def test_discovery_follows_references_only_when_enabled_and_within_depth(sweeps, tmp_path, discovery, swept):
    world = discovery_world()
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], discovery=discovery)
        done = sweeps.sweep(config)
        requests = server.requests()
    assert done.returncode == 0, done.stdout + done.stderr
    feeds = sorted(r["path"] for r in requests if r["path"].startswith("/s/"))
    assert feeds == sorted(["/s/alpha"] + [f"/s/{name}" for name in swept])
    for name in ("beta", "gamma"):
        assert stored_ids(sweeps, config, name) == (world_ids(world, name) if name in swept else [])
        row = sweeps.rows(config, "SELECT depth, discovered_from FROM channels WHERE username=?", (name,))
        assert row == [(1, swept[name]) if name in swept else (None, None)]
    assert sweeps.rows(config, "SELECT confirmed, description FROM bots") == [(1, "Helps.")]
