"""The PostgreSQL store: the same schema as SQLite's, the SQL both run, and what only many writers do.

The store tests in test_sqlite.py run on both engines; these are what is PostgreSQL's own.
"""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from crawler.paging import Cursor
from store.postgres import PostgresStore
from store.postgres.database import to_pg
from store.postgres.schema import MIGRATIONS as PG_MIGRATIONS
from store.postgres.schema import SQLITE_OFFSET
from store.records import Capture, Post
from store.sqlite.schema import MIGRATIONS


def test_placeholders_become_psycopgs_and_literals_stay():
    assert to_pg("SELECT '?', x FROM t WHERE a=? AND b LIKE 'image/%' -- why?") == \
        "SELECT '?', x FROM t WHERE a=%s AND b LIKE 'image/%%' -- why?"


async def test_both_engines_have_the_same_tables_and_columns(pg_url, tmp_path):
    assert len(PG_MIGRATIONS) + SQLITE_OFFSET == len(MIGRATIONS), "a SQLite migration without its PostgreSQL twin"
    lite = sqlite3.connect(tmp_path / "t.db")
    for script in MIGRATIONS:
        lite.executescript(script)
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    want = {t: {r[1] for r in lite.execute(f"PRAGMA table_info({t})")} for t in tables}
    store = await PostgresStore.open(pg_url)
    try:
        have: dict[str, set[str]] = {}
        for table, column in await store.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"):
            have.setdefault(table, set()).add(column)
    finally:
        await store.close()
    have.pop("schema_version")
    for table in ("posts", "bot_refs", "channel_refs"):  # the append-only tables' insertion order
        have[table].discard("rowid")
    assert have == want


async def test_reopening_migrates_nothing_and_many_openers_agree(pg_url):
    stores = await asyncio.gather(*(PostgresStore.open(pg_url) for _ in range(4)))
    try:
        assert [await s.schema_version() for s in stores] == [len(PG_MIGRATIONS)] * 4
    finally:
        for s in stores:
            await s.close()


async def test_writers_in_parallel_keep_one_unbroken_custody_chain(pg_url):
    """Several processes' stores (here: several Store objects, each its own connections) append at once."""
    stores = [await PostgresStore.open(pg_url) for _ in range(4)]
    try:
        async def sweep(n: int, store: PostgresStore) -> None:
            for page in range(10):
                ident = n * 100 + page
                post = Post(channel=f"c{n}", id=ident, date="2026-01-01T00:00:00+00:00", text=f"post {ident}")
                await store.ingest_page(None, f"c{n}", None, [post],
                                        Capture("channel_page", f"https://t.me/s/c{n}?{page}", f"page {ident}".encode()),
                                        Cursor(ident), True)
        await asyncio.gather(*(sweep(n, s) for n, s in enumerate(stores)))
        report = await stores[0].verify()
        assert report.ok, report.problems
        assert report.entries == 40 and report.captures == 40
        assert await stores[0].scalar("SELECT count(*) FROM posts") == 40
    finally:
        for s in stores:
            await s.close()


async def test_writers_touching_shared_rows_in_opposite_orders_do_not_deadlock(pg_url):
    """Two processes' pages mention the same channels in opposite orders, their upserts interleaved:
    without one writer at a time PostgreSQL aborts one of them as a deadlock (seen with 2 workers)."""
    stores = [await PostgresStore.open(pg_url) for _ in range(2)]
    upsert = ("INSERT INTO channels(username, first_seen, last_seen) VALUES (?, 'x', 'x') "
              "ON CONFLICT(username) DO UPDATE SET last_seen = excluded.last_seen")
    try:
        async def page(store: PostgresStore, names: list[str]) -> None:
            async with store.transaction() as db:
                for name in names:
                    await db.execute(upsert, (name,))
                    await asyncio.sleep(0.2)  # the other writer's page is being handled meanwhile
        for name in ("shared_a", "shared_b"):
            await stores[0].discovered(name, 1, "test")
        await asyncio.gather(page(stores[0], ["shared_a", "shared_b"]), page(stores[1], ["shared_b", "shared_a"]))
        assert await stores[0].scalar("SELECT count(*) FROM channels WHERE last_seen = 'x'") == 2
    finally:
        for s in stores:
            await s.close()


async def test_a_graph_read_never_skips_a_row_another_writer_numbered_first(pg_url):
    """A writer holds rowid 1 uncommitted: another writer waits for it (one writer at a time), and a
    read meanwhile waits too, so no reader sees rowid 2 before rowid 1."""
    first, second = await PostgresStore.open(pg_url), await PostgresStore.open(pg_url)
    try:
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow_writer() -> None:
            async with first.transaction() as tx:
                await first.lock(tx, "append")
                await tx.execute("INSERT INTO bot_refs(channel, post_id, bot, how, param) VALUES ('a', 1, 'x_bot', 'mention', '')")
                entered.set()
                await release.wait()

        task = asyncio.create_task(slow_writer())
        await entered.wait()
        adding = asyncio.create_task(second.add_references([("b", 2, "y_bot", "mention")]))

        def read() -> tuple[int, list[tuple]]:
            with second.append_only_read() as snapshot:
                return snapshot.top("bot_refs"), list(snapshot.rows("bot_refs", 0))

        reading = asyncio.create_task(asyncio.to_thread(read))
        await asyncio.sleep(0.3)
        assert not adding.done() and not reading.done()  # both wait for the writer mid-way
        release.set()
        await task
        await adding
        top, rows = await reading
        assert [r[2] for r in rows] == ["x_bot", "y_bot"][:top]  # whatever it saw, nothing before it skipped
        top, rows = await asyncio.to_thread(read)
        assert top == 2 and [r[2] for r in rows] == ["x_bot", "y_bot"]
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("statement", ["UPDATE custody_log SET url='x'", "DELETE FROM custody_log",
                                       "TRUNCATE custody_log"])
async def test_the_custody_chain_is_append_only(pg_url, statement):
    store = await PostgresStore.open(pg_url)
    try:
        async with store.transaction():
            await store.capture(Capture("channel_page", "u", b"x"), None)
        with pytest.raises(Exception, match="append-only"):
            async with store.transaction() as tx:
                await tx.execute(statement)
        assert (await store.verify()).ok
    finally:
        await store.close()


async def _open_before_telethon_access(engine: str, where: str):
    """A store at the version before telethon_access, holding one account's hash and flood wait."""
    import store.postgres.database as pg_database
    import store.sqlite.database as sqlite_database
    from store import open_store

    module = pg_database if engine == "postgresql" else sqlite_database
    every = module.MIGRATIONS
    module.MIGRATIONS = every[:-1]
    try:
        store = await (PostgresStore.open(where) if engine == "postgresql" else open_store(where))
        async with store.transaction() as db:
            await db.execute("INSERT INTO telethon_entities(username, peer_id, kind, access_hash, resolved_at) "
                             "VALUES ('feed', 42, 'channel', 4242, '2026-01-01T00:00:00+00:00')")
            await db.execute("INSERT INTO telethon_waits(scope, until, seconds, request, recorded_at) "
                             "VALUES ('account:resolve', '2999-01-01T00:00:00+00:00', 7200, 'resolve', 'x')")
            await db.execute("INSERT INTO lease_log(account, holder, event, at) VALUES ('unit', 'h:1', 'acquired', 'x')")
        await store.close()
    finally:
        module.MIGRATIONS = every
    return await (PostgresStore.open(where) if engine == "postgresql" else open_store(where))


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_an_upgrade_keeps_the_accounts_hashes_and_flood_waits(engine, tmp_path, request):
    """The access hash and flood wait one account had stay in force for it (`default`, or the collector's)."""
    where = request.getfixturevalue("pg_url") if engine == "postgresql" else str(tmp_path / "db.sqlite")
    store = await _open_before_telethon_access(engine, where)
    try:
        for account in ("default", "unit"):
            assert (await store.cached_entity("feed", account)).access_hash == 4242
            assert await store.account_waits(account) == {"resolve": "2999-01-01T00:00:00+00:00"}
        assert (await store.cached_entity("feed", "other")).access_hash is None
        assert await store.account_waits("other") == {}
    finally:
        await store.close()
