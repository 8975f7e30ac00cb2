"""`tgsweep db upgrade|copy`: a SQLite store moved into PostgreSQL whole, its custody chain verified on both sides."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import zlib

from crawler.paging import Cursor
from store.postgres import PostgresStore
from store.records import Capture, ChannelInfo, Forward, MediaItem, Post, StoredMedia
from store.sqlite import Store
from tests.conftest import Sweeps


def cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, env=Sweeps.env(), cwd=config.parent)


async def fill(path) -> None:
    """A small store: pages with posts, references and media, a sweep, an audit entry."""
    store = await Store.open(path)
    try:
        sweep = await store.start_sweep("web")
        for page in range(3):
            posts = [Post(channel="news", id=i, date=f"2026-01-0{page + 1}T00:00:00+00:00",
                          text=f"post {i}: try @face_bot", mentions=["face_bot", "other_chan"],
                          forwarded_from=Forward(channel="origin", post=i, name="Origin") if i % 2 else None,
                          media=[MediaItem(kind="photo", url=f"http://x/{i}.jpg")])
                     for i in range(page * 5 + 1, page * 5 + 6)]
            await store.ingest_page(sweep, "news", ChannelInfo("news", title="News"), posts,
                                    Capture("channel_page", f"https://t.me/s/news?before={page}", f"p{page}".encode()),
                                    Cursor(page * 5 + 5), page == 2)
        await store.store_media(sweep, "news", 1, 0, "http://x/1.jpg", StoredMedia("ab" * 32, "cd" * 16, 3), None)
        await store.finish_sweep(sweep, "ok", {"pages": 3})
        await store.record_audit("ana", "note", "channel:news", {"note": "watch this"})
    finally:
        await store.close()


def test_a_sqlite_store_moves_into_postgresql_whole(tmp_path, pg_url):
    db = tmp_path / "db.sqlite"
    asyncio.run(fill(db))
    config = Sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["news"])

    done = cli(config, "db", "copy", "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert "custody chain verified on both sides (4 entries, 3 captures)" in done.stdout

    async def compare() -> None:
        lite, pg = await Store.open(db), await PostgresStore.open(pg_url)
        try:
            for table in ("posts", "bot_refs", "channel_refs", "media_items", "post_versions", "custody_log",
                          "audit_log", "sweeps", "channels", "raw_captures"):
                assert await _same(lite, pg, table), table
            # the append-only tables keep their insertion order (an incremental graph build relies on it)
            assert [r[0] for r in await pg.fetchall("SELECT post_id FROM bot_refs ORDER BY rowid")] == \
                [r[0] for r in await lite.fetchall("SELECT post_id FROM bot_refs ORDER BY rowid")]
            assert (await pg.verify()).ok
            # what is written next is numbered after what was copied
            assert await pg.start_sweep("web") == 2
            assert await pg.record_audit("ana", "note", "channel:news", {}) == 2
        finally:
            await lite.close()
            await pg.close()
    asyncio.run(compare())

    again = cli(config, "db", "copy", "--to", pg_url)
    assert again.returncode == 1 and "already holds a store" in again.stderr


async def _same(lite, pg, table: str) -> bool:
    columns = [r[1] for r in await lite.fetchall(f"PRAGMA table_info({table})")]
    listed = ", ".join(columns)
    key = ", ".join(columns[:3])
    return ([tuple(r) for r in await lite.fetchall(f"SELECT {listed} FROM {table} ORDER BY {key}")]
            == [tuple(r) for r in await pg.fetchall(f"SELECT {listed} FROM {table} ORDER BY {key}")])


def test_a_store_whose_chain_does_not_verify_is_not_copied(tmp_path, pg_url):
    db = tmp_path / "db.sqlite"
    asyncio.run(fill(db))
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("UPDATE raw_captures SET content=? WHERE url LIKE '%before=1'", (zlib.compress(b"forged"),))
    con.commit()
    con.close()
    config = Sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["news"])
    done = cli(config, "db", "copy", "--to", pg_url)
    assert done.returncode == 1 and "does not verify" in done.stderr

    async def empty() -> int:
        pg = await PostgresStore.open(pg_url)
        try:
            return await pg.scalar("SELECT count(*) FROM posts")
        finally:
            await pg.close()
    assert asyncio.run(empty()) == 0


def test_no_password_on_the_command_line_and_upgrade_reports_the_version(tmp_path, pg_url):
    config = Sweeps.write_config(tmp_path, "http://127.0.0.1:9", ["news"])
    asyncio.run(fill(tmp_path / "db.sqlite"))
    done = cli(config, "db", "copy", "--to", "postgresql+psycopg://user:hunter2@127.0.0.1:5432/x")
    assert done.returncode == 2 and "no password on the command line" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    up = cli(config, "db", "upgrade")
    from store.postgres.schema import MIGRATIONS as PG
    from store.sqlite.schema import MIGRATIONS as SQLITE

    assert up.returncode == 0 and f"schema version {len(SQLITE)}, up to date" in up.stdout
    pg_config = Sweeps.write_config(tmp_path / "pg", "http://127.0.0.1:9", ["news"], storage={"url": pg_url})
    up = cli(pg_config, "db", "upgrade")
    assert up.returncode == 0 and f"PostgreSQL ([storage] url): schema version {len(PG)}, up to date" in up.stdout
