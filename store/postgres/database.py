"""The store on PostgreSQL: the same SQL as the SQLite store, through SQLAlchemy's async engine and psycopg 3.

The concerns' SQL (store/sqlite/<concern>.py) is written once, in what both engines run: `?`
placeholders, ON CONFLICT upserts, RETURNING. Here `?` becomes psycopg's `%s`; the few SQLite
functions the SQL uses (json_extract, group_concat...) are defined in PostgreSQL by the schema
(store/postgres/schema.py), so no statement is written twice. Unlike the SQLite store, several
processes on several machines write: each transaction is a PostgreSQL transaction, and, as on
SQLite, one commits at a time: every write transaction first takes the `write` advisory lock. The
concerns' upserts touch shared rows (channels, bots, mentioned by many pages) in page order, so two
writers side by side deadlock (measured: 2 workers, 40 channels, a deadlock every few seconds);
writes are milliseconds beside a page's fetch, so one writer costs little. The graph's
append-only reads take the `append` lock (`lock`), the custody chain its own at commit.
"""
from __future__ import annotations

import asyncio
import decimal
import functools
import re
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterable

from store.postgres.schema import MIGRATIONS

# advisory lock keys (pg_advisory_xact_lock): one per thing that must be serial across processes
IDLE_IN_TRANSACTION_MS = 300_000  # a write transaction idle this long is a stuck process: the server ends it
LOCKS = {"migrate": 7_413_001, "custody": 7_413_002, "append": 7_413_003, "write": 7_413_004}


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq's connection string, for psycopg and Procrastinate."""
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts: dict[str, Any] = {"host": u.host, "port": u.port, "user": u.username, "password": u.password,
                             "dbname": u.database, **{k: str(v) for k, v in u.query.items()}}
    return make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


class Row(tuple):
    """A result row read like sqlite3.Row: by position, by column name, and `dict(row)`."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._keys)


@functools.lru_cache(maxsize=64)
def _row_class(keys: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_keys": keys, "_index": {k: i for i, k in enumerate(keys)}})


def _value(v: Any) -> Any:
    """A value as the SQLite store returns it: sums and averages are numbers, not Decimals; blobs bytes."""
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def _param(v: Any) -> Any:
    """A parameter as SQLite takes it: booleans are the integers 0 and 1 (the schema's flags are integers)."""
    return int(v) if isinstance(v, bool) else v


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"])*\"|--[^\n]*|\?|%")


@functools.lru_cache(maxsize=4096)
def to_pg(sql: str) -> str:
    """`?` placeholders as psycopg's `%s`, and a literal `%` doubled (psycopg reads `%` everywhere)."""
    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")
    return _TOKENS.sub(swap, sql)


def _rows(result: Any) -> list[Row]:
    if not result.returns_rows:
        return []
    cls = _row_class(tuple(result.keys()))
    return [cls(_value(v) for v in r) for r in result.fetchall()]


class _Cursor:
    """What a statement returned, read like the SQLite store's cursor."""

    def __init__(self, rows: list[Row], rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    async def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Row]:
        return self._rows


class _Connection:
    """One SQLAlchemy async connection with the SQLite store's execute / executemany / execute_fetchall."""

    def __init__(self, conn: Any):
        self.conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> _Cursor:
        result = await self.conn.exec_driver_sql(to_pg(sql), tuple(_param(p) for p in params))
        return _Cursor(_rows(result), result.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> _Cursor:
        batch = [tuple(_param(p) for p in row) for row in rows]
        if not batch:
            return _Cursor([], 0)
        result = await self.conn.exec_driver_sql(to_pg(sql), batch)
        return _Cursor([], result.rowcount)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return (await self.execute(sql, params))._rows


class PgDatabase:
    """The engine, the migrations and transactions; store/postgres/__init__.py adds the concerns' SQL.
    Open with `await PostgresStore.open(url)`."""

    dialect = "postgresql"

    def __init__(self, engine: Any, url: str):
        self.engine = engine
        self.url = url
        self.path = None  # no file: what needs one (the explorer's saved graph) asks for `url`
        self._write_lock = asyncio.Lock()  # a Store object runs one write transaction at a time, as on SQLite
        self._tx: _Connection | None = None
        self._tx_task: asyncio.Task | None = None  # the task whose transaction _tx is
        self._custody_pending: list[tuple] = []  # the transaction's custody entries (store/sqlite/collection.py)

    @classmethod
    async def open(cls, url: str) -> Any:
        from sqlalchemy.ext.asyncio import create_async_engine

        import psycopg

        # client-side binding: values go in as literals, typed by where they stand, as SQLite types them
        # (a server-side `$1 IS NULL` cannot tell what type $1 is)
        # one writer at a time (`transaction`): a writer whose machine vanished or whose process is frozen
        # must not hold every other one for hours, so dead peers are found by TCP keepalives within about a
        # minute and a transaction left idle for IDLE_IN_TRANSACTION_MS is ended by the server
        engine = create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, connect_args={
            "cursor_factory": psycopg.AsyncClientCursor, "keepalives": 1, "keepalives_idle": 30,
            "keepalives_interval": 10, "keepalives_count": 3,
            "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"})
        store = cls(engine, url)
        try:
            await store.migrate()
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def migrate(self) -> int:
        """Apply the migrations this database has not seen, each in its transaction, one process at a time."""
        async with self.engine.begin() as conn:
            c = _Connection(conn)
            await c.execute("SELECT pg_advisory_xact_lock(?)", (LOCKS["migrate"],))
            await c.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            row = await (await c.execute("SELECT max(version) FROM schema_version")).fetchone()
            version = (row[0] if row else None) or 0
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await conn.exec_driver_sql(script)  # no parameters: psycopg sends it whole
                await c.execute("INSERT INTO schema_version(version) VALUES (?)", (number,))
        return len(MIGRATIONS)

    # -- reads ----------------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self.engine.connect() as conn:
            return await _Connection(conn).execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        if row is None:
            raise LookupError(f"no row: {sql[:60]}")
        return row[0]

    async def iterate(self, sql: str, params: Iterable[Any] = (), batch: int = 2_000) -> AsyncIterator[Row]:
        """Rows of a long read a batch at a time (a server-side cursor), not all in memory."""
        async with self.engine.connect() as conn:
            result = await conn.stream(_text(to_pg_named(sql)), _named(params))
            cls = _row_class(tuple(result.keys()))
            async for part in result.partitions(batch):
                for r in part:
                    yield cls(_value(v) for v in r)

    # -- writes ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Connection]:
        """One write transaction of this Store object; other processes' wait for it (the `write` lock)."""
        async with self._write_lock:
            async with self.engine.begin() as conn:
                self._tx, self._tx_task = _Connection(conn), asyncio.current_task()
                try:
                    await self._tx.execute("SELECT pg_advisory_xact_lock(?)", (LOCKS["write"],))  # one writer
                    yield self._tx
                    await self._before_commit()  # type: ignore[attr-defined]  # the custody chain: CollectionSQL
                    await self._tx.execute("UPDATE store_generation SET n = n + 1")
                finally:
                    self._tx, self._tx_task, self._custody_pending = None, None, []

    @property
    def _writer(self) -> _Connection | "_Autocommit":
        """The current transaction's connection, for the task running it; for any other task (a read while
        another task writes) a pooled connection, which sees what is committed."""
        if self._tx is not None and self._tx_task is asyncio.current_task():
            return self._tx
        return _Autocommit(self)

    async def lock(self, tx: _Connection, name: str) -> None:
        """Hold the advisory lock `name` until `tx` ends: what must be serial across processes."""
        shared = "_shared" if name == "append" else ""  # writers share it; a graph read takes it alone
        await tx.execute(f"SELECT pg_advisory_xact_lock{shared}(?)", (LOCKS[name],))

    async def generation(self) -> int:
        return int(await self.scalar("SELECT n FROM store_generation"))

    # -- what SQLite answers with PRAGMAs -------------------------------------------------------

    async def schema_version(self) -> int:
        return int(await self.scalar("SELECT max(version) FROM schema_version"))

    async def integrity_check(self) -> str:
        return "ok"  # PostgreSQL checks its pages itself (data checksums, amcheck): nothing to ask here

    async def has_column(self, table: str, column: str) -> bool:
        return bool(await self.fetchone(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = ?", (table, column)))


class _Autocommit:
    """A read through the writer's interface outside a transaction (the SQLite store's cursor reads)."""

    def __init__(self, db: PgDatabase):
        self.db = db

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self.db.fetchall(sql, params)


_QMARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"])*\"|--[^\n]*|\?|:")


def to_pg_named(sql: str) -> str:
    """`?` placeholders as SQLAlchemy's `:p0, :p1...` (for text(), which streams); a literal `:` escaped."""
    n = iter(range(10_000))

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return f":p{next(n)}"
        if token == ":":
            return "\\:"
        return token.replace(":", "\\:")
    return _QMARK.sub(swap, sql)


def _named(params: Iterable[Any]) -> dict[str, Any]:
    return {f"p{i}": _param(v) for i, v in enumerate(params)}


def _text(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)
