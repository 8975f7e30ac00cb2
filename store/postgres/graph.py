"""The graph's append-only reads on PostgreSQL (store/graph.py: GraphSource.append_only_read).

SQLite's rowid is an insertion order every reader agrees on, because one transaction writes at a
time. PostgreSQL hands out `rowid` values from a sequence to transactions that commit in any order,
so a read could see row 12 before row 11 commits, and an incremental graph build would never fold
row 11 in. Writers of these tables hold the `append` advisory lock shared (`Database.lock`
); a read takes it exclusively for the instant it starts its snapshot, so every row numbered
below the read's top has committed before the read starts.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from store.postgres.database import LOCKS, conninfo, to_pg
from store.sqlite.graph import SOURCES


class PgAppendOnlyRead:
    """One consistent read of the append-only sources, on its own connection (a worker thread's)."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.tops = {t: conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
                     for t in {t for t, _ in SOURCES.values()}}

    def sources(self) -> list[str]:
        return list(SOURCES)

    def top(self, source: str) -> int:
        return self.tops[SOURCES[source][0]]

    def count_upto(self, source: str, mark: int) -> int:
        table = SOURCES[source][0]
        return self.conn.execute(f"SELECT count(*) FROM {table} WHERE rowid <= %s", (mark,)).fetchone()[0]

    def rows(self, source: str, since: int) -> Iterator[tuple]:
        with self.conn.cursor(name=f"graph_{source}") as cur:  # server-side: a batch at a time
            cur.itersize = 20_000
            cur.execute(to_pg(SOURCES[source][1]), (since, self.top(source)))
            yield from cur


class PgGraphReads:
    """The PostgreSQL store's GraphSource.append_only_read; mixed in ahead of the SQLite store's."""

    url: str

    @contextmanager
    def append_only_read(self) -> Iterator[PgAppendOnlyRead]:
        import psycopg

        with psycopg.connect(conninfo(self.url), autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCKS["append"],))  # waits for writers mid-way
            try:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                read = PgAppendOnlyRead(conn)  # its first query takes the snapshot, with the lock held
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCKS["append"],))
            yield read
            conn.execute("COMMIT")
