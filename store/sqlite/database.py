"""The store: one SQLite database, one writer, every stage's input and output.

One connection does all writing (Datasette's rule: one writer per database): a plain sqlite3
connection used only inside `transaction()`, on the event loop's thread (see `_Writer`); reads
go through aiosqlite, and WAL lets them (exports, `status`) run beside it. A page of posts, its raw capture, the custody
entry and the channel's cursor go in one transaction, so a crash never half-writes and a
re-run never duplicates (posts are keyed on (channel, id)).
"""
from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import aiosqlite

from store.sqlite.schema import MIGRATIONS


NO_LIMIT = 2 ** 62  # `LIMIT ?` with no limit (SQLite's -1 is refused by PostgreSQL)


def marks(values: Any) -> str:
    """The placeholders of `IN (...)` for these values; `NULL` for none (PostgreSQL refuses an empty `IN ()`,
    and `IN (NULL)` matches nothing on either engine)."""
    return ",".join("?" * len(values)) or "NULL"


class _Cursor:
    """A sqlite3 cursor with aiosqlite's awaitable fetch methods."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> sqlite3.Row | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()


class _Writer:
    """The write connection: a plain sqlite3 connection used on the event loop's thread.

    It has aiosqlite's execute / executemany / execute_fetchall, but they run at once and never
    give the loop away, so a transaction runs start to end with nothing else on this connection.
    Why not aiosqlite's thread: a page's transaction is about a millisecond of SQLite, but sent
    statement by statement to another thread it waits for the GIL behind the parser on every
    step (a convoy), and a 100,000-post sweep stored a third fewer posts per second. Readers
    (exports, status, the spider's cursor reads) still go through aiosqlite; WAL lets them run
    beside the writer, and Store.transaction() keeps writes one at a time.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, path: Path) -> "_Writer":
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in ("synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=OFF"):
            conn.execute(f"PRAGMA {pragma}")
        return cls(conn)

    async def execute(self, sql: str, params: tuple | list = ()) -> _Cursor:
        return _Cursor(self.conn.execute(sql, params))

    async def executemany(self, sql: str, rows: Any) -> _Cursor:
        return _Cursor(self.conn.executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()


class Database:
    """The connection, the writer and the migrations; store/sqlite/__init__.py adds one mixin of SQL per
    concern to make the Store. Open with `await Store.open(path)`."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self.db = db  # reads, migrations
        self.path = path
        self._write_lock = asyncio.Lock()  # one write transaction at a time
        self._open_writer: _Writer | None = None  # every write: see _Writer
        self._custody_pending: list[tuple] = []  # the transaction's custody entries (store/sqlite/collection.py)

    @classmethod
    async def open(cls, path: str | Path) -> "Database":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=30000")
        await db.execute("PRAGMA foreign_keys=OFF")  # media rows may follow their items; checked by verify
        store = cls(db, path)
        try:
            await store.migrate()
        except BaseException:
            await db.close()  # else the aiosqlite thread keeps the process alive
            raise
        store._open_writer = _Writer.open(path)
        return store

    async def close(self) -> None:
        if self._open_writer is not None:
            self._open_writer.conn.close()
        await self.db.close()

    async def __aenter__(self) -> "Database":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def _writer(self) -> _Writer:
        """The write connection (see _Writer); there is none before `open` or after `close`."""
        if self._open_writer is None:
            raise RuntimeError("the store is not open")
        return self._open_writer

    async def scalar(self, sql: str, params: tuple | list = ()) -> Any:
        """The first column of the first row (a count, a pragma); the query must return a row."""
        row = await self.fetchone(sql, params)
        if row is None:
            raise LookupError(f"no row: {sql[:60]}")
        return row[0]

    async def migrate(self) -> int:
        """Apply the migrations this database has not seen, each atomically."""
        (version,) = list(await self.db.execute_fetchall("PRAGMA user_version"))[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                await self.db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")
            except BaseException as exc:
                if self.db.in_transaction:
                    await self.db.execute("ROLLBACK")
                # several processes opening a new database at once: another one applied it first
                (now_at,) = list(await self.db.execute_fetchall("PRAGMA user_version"))[0]
                if isinstance(exc, sqlite3.OperationalError) and now_at >= number:
                    continue
                raise
        return len(MIGRATIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Writer]:
        """One write transaction: every write goes through here, on the writer connection."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                await self._before_commit()
            except BaseException:
                self._custody_pending = []
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("UPDATE store_generation SET n = n + 1")
                await self._writer.execute("COMMIT")

    async def generation(self) -> int:
        """How many write transactions the store has committed, across processes (persistent, unlike
        SQLite's per-connection data_version)."""
        return int(await self.scalar("SELECT n FROM store_generation"))

    async def fetchall(self, sql: str, params: tuple | list = ()) -> list[aiosqlite.Row]:
        return list(await self.db.execute_fetchall(sql, params))

    async def iterate(self, sql: str, params: tuple | list = (), batch: int = 2_000) -> AsyncIterator[aiosqlite.Row]:
        """Rows of a long read a batch at a time, not all in memory."""
        async with self.db.execute(sql, params) as cursor:
            cursor.iter_chunk_size = batch
            async for row in cursor:
                yield row

    async def _before_commit(self) -> None:
        """What a write transaction does last (the custody chain's appends: store/sqlite/collection.py)."""

    async def lock(self, tx: _Writer, name: str) -> None:
        """What must be serial across writers already is: SQLite runs one write transaction at a time
        (PostgreSQL takes an advisory lock here: store/postgres/database.py)."""

    async def schema_version(self) -> int:
        return int(await self.scalar("PRAGMA user_version"))

    async def integrity_check(self) -> str:
        return str(await self.scalar("PRAGMA integrity_check"))

    async def has_column(self, table: str, column: str) -> bool:
        return any(r[1] == column for r in await self.fetchall(f"PRAGMA table_info({table})"))

    async def fetchone(self, sql: str, params: tuple | list = ()) -> aiosqlite.Row | None:
        # the cursor is closed at once: an open statement would hold the reader's snapshot, and every
        # later read on it would miss what the writer committed since
        async with self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()


def has_watched_channels(path: Path) -> bool:
    """Whether the database at `path` has channels on its watchlist, read without opening the store
    (which would create or migrate it); False for a missing or unreadable file."""
    if not Path(path).exists():
        return False
    db = sqlite3.connect(path, timeout=30)
    try:
        return bool(db.execute("SELECT count(*) FROM channels WHERE watched=1").fetchone()[0])
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
