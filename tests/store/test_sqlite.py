"""The store: idempotent ingestion, one transaction per page, custody chain verification."""
from __future__ import annotations

import sqlite3

import pytest

from crawler.paging import Cursor
from store.records import ChannelInfo, Forward, MediaItem, Post
from store.records import Capture, StoredMedia
from store.sqlite import Store
from store.sqlite.schema import MIGRATIONS


def posts(channel: str, ids: list[int]) -> list[Post]:
    return [Post(channel=channel, id=i, date="2026-01-01T00:00:00+00:00", text=f"post {i} via @helper_bot",
                 mentions=["helper_bot", "othernews"], views=i,
                 forwarded_from=Forward(channel="origin_chan", post=i, name="Origin") if i % 2 else None,
                 media=[MediaItem(kind="photo", url=f"http://x/{i}.jpg")]) for i in ids]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path):
    """Each store test runs on both engines: the same SQL must mean the same on both."""
    if request.param == "sqlite":
        s = await Store.open(tmp_path / "t.db")
    else:
        from store.postgres import PostgresStore
        s = await PostgresStore.open(request.getfixturevalue("pg_url"))
    yield s
    await s.close()


async def raw(store, sql: str, params: tuple = ()) -> None:
    """A statement straight on the database, past the store (what someone with direct access can do)."""
    if isinstance(store, Store) and not hasattr(store, "engine"):
        await store.db.execute(sql, params)
        return
    from store.postgres.database import to_pg
    async with store.engine.begin() as conn:
        await conn.exec_driver_sql(to_pg(sql), params)


def drop_trigger(store, name: str) -> str:
    return f"DROP TRIGGER {name}" + (" ON custody_log" if hasattr(store, "engine") else "")


async def count(store: Store, table: str) -> int:
    return (await store.fetchone(f"SELECT count(*) FROM {table}"))[0]


async def test_schema_is_versioned_and_reopening_migrates_nothing(tmp_path):
    s = await Store.open(tmp_path / "t.db")
    assert (await s.fetchone("PRAGMA user_version"))[0] == len(MIGRATIONS)
    assert (await s.fetchone("PRAGMA journal_mode"))[0] == "wal"
    await s.close()
    s = await Store.open(tmp_path / "t.db")
    assert await s.migrate() == len(MIGRATIONS)
    await s.close()


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    """The service starts several jobs at once; each child opens (and may migrate) the database."""
    import subprocess
    import sys

    db = tmp_path / "new.db"
    code = ("import asyncio, sys; from store.sqlite import Store\n"
            "async def main():\n    s = await Store.open(sys.argv[1]); await s.close()\n"
            "asyncio.run(main())")
    children = [subprocess.Popen([sys.executable, "-c", code, str(db)], stderr=subprocess.PIPE, text=True)
                for _ in range(6)]
    failures = [err for child in children if (err := child.communicate(timeout=120)[1]) and child.returncode]
    assert failures == []
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_ingesting_the_same_page_twice_never_duplicates(store):
    page = posts("news", [1, 2, 3])
    capture = Capture("channel_page", "https://t.me/s/news", b"<html>page</html>")
    first = await store.ingest_page(1, "news", ChannelInfo("news", title="News"), page, capture, Cursor(3), True)
    again = await store.ingest_page(2, "news", None, page, capture, Cursor(3), True)
    assert first.new_ids == [1, 2, 3] and again.new_ids == []
    assert await count(store, "posts") == 3
    assert await count(store, "media_items") == 3
    assert await count(store, "raw_captures") == 1  # same bytes, one capture
    assert await count(store, "custody_log") == 2  # but both fetches are on record
    assert [r[0] for r in await store.fetchall("SELECT bot FROM bot_refs")] == ["helper_bot"] * 3
    refs = {tuple(r) for r in await store.fetchall("SELECT target, how FROM channel_refs")}
    assert refs == {("origin_chan", "forward"), ("othernews", "mention")}
    assert await store.get_cursor("news") == Cursor(3)


async def test_a_failing_page_write_leaves_nothing_behind(store, monkeypatch):
    async def crash(*args, **kwargs):
        raise RuntimeError("killed after the posts were written, before the cursor")
    monkeypatch.setattr(store, "_set_cursor", crash)
    with pytest.raises(RuntimeError):
        await store.ingest_page(1, "news", None, posts("news", [1, 2]), Capture("channel_page", "u", b"x"), Cursor(2), True)
    for table in ("posts", "raw_captures", "custody_log", "cursors", "media_items"):
        assert await count(store, table) == 0, table


async def test_views_are_refreshed_but_first_seen_is_kept(store):
    page = posts("news", [1])
    await store.ingest_page(1, "news", None, page, Capture("channel_page", "u", b"a"), Cursor(1), True)
    first_seen = (await store.fetchone("SELECT first_seen FROM posts"))[0]
    page[0].views = 999
    await store.ingest_page(2, "news", None, page, Capture("channel_page", "u", b"b"), Cursor(1), True)
    row = await store.fetchone("SELECT views, first_seen FROM posts")
    assert row[0] == 999 and row[1] == first_seen


async def test_custody_chain_verifies_and_detects_an_edited_row(store, tmp_path):
    await store.ingest_page(1, "news", None, posts("news", [1]), Capture("channel_page", "u1", b"one"), Cursor(1), True)
    await store.ingest_page(1, "news", None, posts("news", [2]), Capture("channel_page", "u2", b"two"), Cursor(2), True)
    await store.store_media(1, "news", 1, 0, "http://x/1.jpg", StoredMedia("ab" * 32, "cd" * 16, 3), None)
    report = await store.verify()
    assert report.ok and report.entries == 3 and report.captures == 2

    with pytest.raises(Exception, match="append-only"):
        await raw(store, "UPDATE custody_log SET url='forged' WHERE seq=2")
    with pytest.raises(Exception, match="append-only"):
        await raw(store, "DELETE FROM custody_log WHERE seq=3")

    # Someone with direct access drops the trigger and edits an entry: verify sees it.
    await raw(store, drop_trigger(store, "custody_log_no_update"))
    await raw(store, "UPDATE custody_log SET url='forged' WHERE seq=2")
    report = await store.verify()
    assert not report.ok
    assert report.problems == ["custody entry 2: contents were altered (hash mismatch)"]


async def test_verify_detects_an_altered_capture_and_a_removed_entry(store):
    await store.ingest_page(1, "news", None, posts("news", [1]), Capture("channel_page", "u1", b"one"), Cursor(1), True)
    await store.ingest_page(1, "news", None, posts("news", [2]), Capture("channel_page", "u2", b"two"), Cursor(2), True)
    import zlib
    await raw(store, "UPDATE raw_captures SET content=? WHERE url='u1'", (zlib.compress(b"forged"),))
    await raw(store, drop_trigger(store, "custody_log_no_delete"))
    await raw(store, "DELETE FROM custody_log WHERE seq=1")
    problems = (await store.verify()).problems
    assert any("content does not match its SHA-256" in p for p in problems)
    assert any("expected sequence number 1" in p for p in problems)
    assert any("has no custody entry" in p for p in problems)


async def test_media_files_are_checked_against_their_hash(store, tmp_path):
    from crawler.media import inspect_media, write_media
    data = b"GIF89a" + b"\x00" * 10
    info = inspect_media(data, "video", 1000)
    info.media.path = write_media(tmp_path / "media", info.media.sha256, data)
    await store.ingest_page(1, "news", None, posts("news", [1]), Capture("channel_page", "u", b"p"), Cursor(1), True)
    await store.store_media(1, "news", 1, 0, "http://x/1.jpg", info.media, None)
    assert (await store.verify(tmp_path / "media")).ok
    (tmp_path / "media" / info.media.path).write_bytes(b"changed")
    assert "does not match its SHA-256" in (await store.verify(tmp_path / "media")).problems[0]


def test_record_json_is_the_dict_form():
    import json
    from store.records import Poll, Reaction
    post = posts("news", [1])[0]
    post.poll = Poll("q?", "quiz", [("yes", 60), ("no", 40)])
    post.reactions = [Reaction("👍", 3)]
    assert post.to_json() == json.dumps(post.to_dict(), ensure_ascii=False)
