"""SQL of the store, the graph's sources: the append-only tables read incrementally on their own
read connection, and what other stages rewrite wholesale (store/graph.py)."""
from __future__ import annotations

import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from store.sqlite.database import Database

# The append-only sources: name -> (table, query of its rows in a rowid range).
SOURCES = {
    "channel_refs": ("channel_refs", """SELECT r.channel, r.post_id, r.target, r.how, p.date FROM channel_refs r
                        LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
                        WHERE r.rowid > ? AND r.rowid <= ? ORDER BY r.rowid"""),
    "bot_refs": ("bot_refs", """SELECT r.channel, r.post_id, r.bot, r.how, r.param, p.date FROM bot_refs r
                    LEFT JOIN posts p ON p.channel = r.channel AND p.id = r.post_id
                    WHERE r.rowid > ? AND r.rowid <= ? ORDER BY r.rowid"""),
    "hidden_forwards": ("posts", """SELECT channel, id, forwarded_name, date FROM posts
                           WHERE rowid > ? AND rowid <= ? AND forwarded_name IS NOT NULL
                           AND forwarded_channel IS NULL ORDER BY rowid"""),
    "signatures": ("posts", """SELECT channel, id, author, date FROM posts
                      WHERE rowid > ? AND rowid <= ? AND author IS NOT NULL AND author != '' ORDER BY rowid"""),
}

# what `export messages` reads of a post (PostgreSQL's posts also has its rowid column)
POST_COLUMNS = ("channel, id, channel_id, date, text, views, edited, author, forwarded_channel, forwarded_post, "
                "forwarded_name, reply_channel, reply_post, via_bot, service, source, record, capture_sha256, "
                "first_seen, last_seen")


def _prefetched(uri: str, sql: str, params: tuple, batch: int = 20_000) -> Iterator[tuple]:
    """Rows of `sql`, read a few batches ahead by a helper thread on its own connection.

    Why: sqlite3 runs SQLite without the GIL, so the join runs on one core while the fold
    runs on the other (a third off a million-edge build).
    """
    batches: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce() -> None:
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=30)
            try:
                cur = conn.execute(sql, params)
                while not stop.is_set():
                    rows = cur.fetchmany(batch)
                    while not stop.is_set():
                        try:
                            batches.put(rows, timeout=0.5)
                            break
                        except queue.Full:
                            continue
                    if not rows:
                        break
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            batches.put(exc)

    worker = threading.Thread(target=produce, name="graph-reader", daemon=True)
    worker.start()
    try:
        while True:
            rows = batches.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                break
            yield from rows
    finally:
        stop.set()
        worker.join()


class AppendOnlyRead:
    """One consistent read of the append-only sources (store/graph.py: AppendOnlyReader)."""

    def __init__(self, uri: str, db: sqlite3.Connection):
        self.uri, self.db = uri, db
        self.tops = {t: db.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
                     for t in {t for t, _ in SOURCES.values()}}

    def sources(self) -> list[str]:
        return list(SOURCES)

    def top(self, source: str) -> int:
        return self.tops[SOURCES[source][0]]

    def count_upto(self, source: str, mark: int) -> int:
        table = SOURCES[source][0]
        return self.db.execute(f"SELECT count(*) FROM {table} WHERE rowid <= ?", (mark,)).fetchone()[0]

    def rows(self, source: str, since: int) -> Iterator[tuple]:
        return _prefetched(self.uri, SOURCES[source][1], (since, self.top(source)))


class GraphSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    @contextmanager
    def append_only_read(self) -> Iterator[AppendOnlyRead]:
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            db.execute("BEGIN")  # one consistent read of every table
            yield AppendOnlyRead(uri, db)
            db.execute("COMMIT")
        finally:
            db.close()

    async def graph_volatile_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in await self.fetchall(sql)]

        return {
            "bank_matches": await rows(
                """SELECT DISTINCT m.cluster, b.bank, b.tier FROM bank_matches b JOIN media m ON m.sha256 = b.sha256
                   WHERE m.cluster IS NOT NULL ORDER BY m.cluster, b.bank, b.tier"""),
            # media nodes: pictures seen more than once, or matching a bank
            "posted": await rows(
                """SELECT i.channel, i.post_id, m.cluster, p.date FROM media_items i
                   JOIN media m ON m.sha256 = i.sha256 OR m.sha256 = i.thumb_sha256
                   LEFT JOIN posts p ON p.channel = i.channel AND p.id = i.post_id
                   WHERE m.cluster IN (SELECT id FROM media_clusters WHERE appearances > 1
                                       UNION SELECT m2.cluster FROM bank_matches b2 JOIN media m2 ON m2.sha256 = b2.sha256)
                   ORDER BY p.date, i.channel, i.post_id"""),
            "mirrors": await rows(
                "SELECT bot, predecessor, kind, evidence, first_seen FROM bot_mirrors ORDER BY first_seen, bot, predecessor"),
            "bots": await rows("SELECT username, confirmed, title, label, score, reasons, first_seen, last_seen FROM bots "
                               "ORDER BY username"),
            "channels": await rows("SELECT username, kind, title, watched, first_seen, last_seen FROM channels ORDER BY username"),
            "clusters": await rows(
                """SELECT id, origin_channel, origin_post, origin_date, files, appearances, channels, updated_at
                   FROM media_clusters ORDER BY id"""),
            "escalations": await rows("SELECT subject, score, pagerank, community, reasons FROM escalations ORDER BY subject"),
        }

    # -- `export messages` ---------------------------------------------------------------------

    async def post_channels(self) -> list[str]:
        return [r[0] for r in await self.fetchall("SELECT DISTINCT channel FROM posts ORDER BY channel")]

    async def channel_bank_matches(self, channel: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.fetchall(
            """SELECT b.sha256, b.bank, b.label, b.distance, b.hash_type, b.tier FROM bank_matches b
               JOIN media_items i ON i.sha256 = b.sha256 WHERE i.channel=?
               GROUP BY b.sha256, b.bank, b.hash_type, b.hash ORDER BY b.distance, b.bank""", (channel,))]

    async def channel_media_rows(self, channel: str) -> list[Any]:
        return await self.fetchall(
            """SELECT i.*, m.md5, m.pdq, m.pdq_quality, m.phash, m.cluster, m.fingerprint_error FROM media_items i
               LEFT JOIN media m ON m.sha256 = i.sha256 WHERE i.channel=? ORDER BY i.post_id, i.position""", (channel,))

    async def channel_bot_refs(self, channel: str) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in await self.fetchall(
            "SELECT post_id, bot FROM bot_refs WHERE channel=? ORDER BY rowid", (channel,))]

    async def channel_post_rows(self, channel: str) -> AsyncIterator[Any]:
        async for row in self.iterate(f"SELECT {POST_COLUMNS} FROM posts WHERE channel=? ORDER BY id", (channel,)):
            yield row
