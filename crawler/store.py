"""The store: one SQLite database, one writer, every stage's input and output.

One connection does all writing (Datasette's rule: one writer per database): a plain sqlite3
connection used only inside `transaction()`, on the event loop's thread (see `_Writer`); reads
go through aiosqlite, and WAL lets them (exports, `status`) run beside it. A page of posts, its raw capture, the custody
entry and the channel's cursor go in one transaction, so a crash never half-writes and a
re-run never duplicates (posts are keyed on (channel, id)).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import zlib
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import aiosqlite

from crawler.discovery import channel_refs
from crawler.paging import Cursor
from crawler.records import ChannelInfo, EntityPage, Post
from crawler.bot_refs import bot_refs

# Each entry is one schema version; never edit a released one, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE channels (            -- every public username seen: watched, discovered, referenced
        username        TEXT PRIMARY KEY,   -- lower case, no @
        channel_id      INTEGER,            -- Telegram's numeric id (web: data-view; API: peer id)
        kind            TEXT,               -- channel, group, user, bot, unknown (from the entity page)
        title           TEXT,
        description     TEXT,
        verified        INTEGER,
        photo_url       TEXT,
        counters        TEXT,               -- JSON: subscribers, photos, videos, links, files
        has_preview     INTEGER,            -- 1: t.me/s works; 0: no public preview; NULL: not yet known
        watched         INTEGER NOT NULL DEFAULT 0,
        discovered_from TEXT,               -- "forward in news/12": how discovery found it
        depth           INTEGER,            -- hops from the watchlist (0 = watched)
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        profile_at      TEXT                -- when title/description were last read
    );
    CREATE TABLE posts (
        channel         TEXT NOT NULL,
        id              INTEGER NOT NULL,
        channel_id      INTEGER,
        date            TEXT,
        text            TEXT NOT NULL DEFAULT '',
        views           INTEGER,
        edited          INTEGER NOT NULL DEFAULT 0,
        author          TEXT,
        forwarded_channel TEXT,
        forwarded_post  INTEGER,
        forwarded_name  TEXT,
        reply_channel   TEXT,
        reply_post      INTEGER,
        via_bot         TEXT,
        service         TEXT,
        source          TEXT NOT NULL,      -- web or telethon: who saw it first
        record          TEXT NOT NULL,      -- the whole record as JSON (links, buttons, media, reactions...)
        capture_sha256  TEXT REFERENCES raw_captures(sha256),  -- the page it was read from
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        PRIMARY KEY (channel, id)
    );
    CREATE INDEX posts_forwarded ON posts(forwarded_channel) WHERE forwarded_channel IS NOT NULL;
    CREATE TABLE media (                -- one row per distinct file (content-addressed)
        sha256          TEXT PRIMARY KEY,
        md5             TEXT NOT NULL,
        size            INTEGER NOT NULL,
        mime            TEXT,
        width           INTEGER,
        height          INTEGER,
        path            TEXT,               -- relative to media_dir; NULL in hash-only mode
        pdq             TEXT,
        pdq_quality     INTEGER,
        phash           TEXT,
        first_seen      TEXT NOT NULL
    );
    CREATE TABLE media_items (          -- media appearances: one per media item of a post
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        position        INTEGER NOT NULL,   -- order within the post
        item_post_id    INTEGER,            -- album items have their own id
        kind            TEXT NOT NULL,
        url             TEXT,               -- as shown (expires)
        thumb_url       TEXT,
        duration        INTEGER,
        status          TEXT NOT NULL,      -- pending, stored, error, not_offered (too big / no url)
        sha256          TEXT REFERENCES media(sha256),
        thumb_sha256    TEXT REFERENCES media(sha256),
        error           TEXT,
        fetched_at      TEXT,
        PRIMARY KEY (channel, post_id, position),
        FOREIGN KEY (channel, post_id) REFERENCES posts(channel, id)
    );
    CREATE INDEX media_items_sha ON media_items(sha256);
    CREATE INDEX media_items_pending ON media_items(status) WHERE status = 'pending';
    CREATE TABLE bots (                 -- bot candidates and confirmed bots
        username        TEXT PRIMARY KEY,
        confirmed       INTEGER,            -- 1: a profile says it is a bot; 0: it is not; NULL: unknown
        title           TEXT,
        description     TEXT,
        profile         TEXT,               -- JSON profile (entity page or API)
        label           TEXT,               -- deepfake_generator, benign, unknown
        score           REAL,
        reasons         TEXT,               -- JSON list of strings
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL
    );
    CREATE TABLE bot_refs (             -- every reference from a post to a bot
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        bot             TEXT NOT NULL,
        how             TEXT NOT NULL,      -- mention, link, deep_link, button, via
        param           TEXT NOT NULL DEFAULT '',  -- deep-link start parameter
        PRIMARY KEY (channel, post_id, bot, how, param)
    );
    CREATE INDEX bot_refs_bot ON bot_refs(bot);
    CREATE TABLE channel_refs (         -- forwards, t.me links and @mentions between channels
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        target          TEXT NOT NULL,
        how             TEXT NOT NULL,      -- forward, link, mention
        target_post     INTEGER,
        PRIMARY KEY (channel, post_id, target, how)
    );
    CREATE INDEX channel_refs_target ON channel_refs(target);
    CREATE TABLE cursors (              -- how far each channel has been collected, per source
        channel         TEXT NOT NULL,
        source          TEXT NOT NULL,      -- web or telethon
        last_id         INTEGER NOT NULL DEFAULT 0,   -- every post <= last_id is stored
        pending_top     INTEGER,            -- an unfinished sweep stored [pending_bottom, pending_top]
        pending_bottom  INTEGER,
        not_before      TEXT,               -- do not fetch before this time (flood wait, Retry-After)
        last_success    TEXT,
        last_error      TEXT,
        updated_at      TEXT NOT NULL,
        PRIMARY KEY (channel, source)
    );
    CREATE TABLE raw_captures (         -- evidence: every page and API answer, unaltered
        sha256          TEXT PRIMARY KEY,   -- of the original bytes
        kind            TEXT NOT NULL,      -- channel_page, entity_page, telethon_json
        url             TEXT NOT NULL,
        size            INTEGER NOT NULL,
        encoding        TEXT NOT NULL,      -- how content is stored: zlib (lossless) or identity
        content         BLOB NOT NULL,
        first_fetched   TEXT NOT NULL
    );
    CREATE TABLE custody_log (          -- append-only; each entry carries the previous entry's hash
        seq             INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        action          TEXT NOT NULL,      -- capture, media
        sha256          TEXT NOT NULL,      -- of the captured bytes
        url             TEXT NOT NULL,
        sweep_id        INTEGER,
        prev_hash       TEXT NOT NULL,
        entry_hash      TEXT NOT NULL
    );
    CREATE TRIGGER custody_log_no_update BEFORE UPDATE ON custody_log
        BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;
    CREATE TRIGGER custody_log_no_delete BEFORE DELETE ON custody_log
        BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;
    CREATE TABLE sweeps (
        id              INTEGER PRIMARY KEY,
        source          TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        status          TEXT NOT NULL,      -- running, ok, failed, interrupted
        stats           TEXT                -- JSON summary
    );
    CREATE TABLE sweep_errors (         -- recorded failures: what went wrong, where, nothing lost
        id              INTEGER PRIMARY KEY,
        sweep_id        INTEGER REFERENCES sweeps(id),
        at              TEXT NOT NULL,
        channel         TEXT,
        url             TEXT,
        kind            TEXT NOT NULL,      -- http, media, parse, no_preview, empty_feed, ...
        message         TEXT NOT NULL
    );
    CREATE TABLE alerts (               -- outbox for the case system
        id              TEXT PRIMARY KEY,   -- stable: webhook-id
        type            TEXT NOT NULL,
        subject         TEXT NOT NULL,
        severity        TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        payload         TEXT NOT NULL,      -- JSON body
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending, delivered, dead
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error      TEXT,
        delivered_at    TEXT
    );
    """,
    """
    -- v2: bot verdicts, analyst overrides and mirrors (detectors/stage.py).
    -- bots.label is the effective label (an analyst override wins); the automatic one is
    -- kept beside it, with score and reasons, so both can be shown side by side.
    ALTER TABLE bots ADD COLUMN auto_label TEXT;    -- the classifier's label, whatever the override
    ALTER TABLE bots ADD COLUMN scored_at TEXT;     -- when the classifier last scored this bot
    CREATE TABLE bot_overrides (        -- analyst decisions; the newest per bot applies; never overwritten
        id              INTEGER PRIMARY KEY,
        username        TEXT NOT NULL,      -- bot, lower case, no @
        label           TEXT NOT NULL,      -- deepfake_generator or benign
        note            TEXT NOT NULL DEFAULT '',
        decided_by      TEXT NOT NULL,      -- who
        decided_at      TEXT NOT NULL       -- when (ISO 8601, UTC)
    );
    CREATE INDEX bot_overrides_username ON bot_overrides(username, id);
    CREATE TABLE bot_mirrors (          -- mirror_of: a bot that replaces another (banned) one
        bot             TEXT NOT NULL,      -- the new bot
        predecessor     TEXT NOT NULL,      -- the bot it replaces
        kind            TEXT NOT NULL,      -- notice (a post announces it), referral (a start code moved), profile
        evidence        TEXT NOT NULL,      -- what shows it, a person can read, naming the post
        first_seen      TEXT NOT NULL,
        PRIMARY KEY (bot, predecessor, kind, evidence)
    );
    CREATE INDEX bot_mirrors_predecessor ON bot_mirrors(predecessor);
    """,
    """
    -- v3: `tgsweep watch remove` (scheduler issue). A channel removed from the watchlist keeps
    -- watched = 0 and the time of its removal, which overrides [watch] channels in the config
    -- file until `tgsweep watch add` puts it back.
    ALTER TABLE channels ADD COLUMN unwatched_at TEXT;
    """,
    """
    -- v4: fingerprints, hash banks and repost clusters (detectors/enrich.py, detectors/banks.py).
    ALTER TABLE media ADD COLUMN pdq_alt TEXT;          -- JSON: PDQ of the trimmed picture and its centre crop
    ALTER TABLE media ADD COLUMN pdq_lookup TEXT;       -- JSON: rotations/flips and alternates, for lookups
    ALTER TABLE media ADD COLUMN fingerprint_error TEXT;  -- why it could not be fingerprinted
    ALTER TABLE media ADD COLUMN fingerprinted_at TEXT;
    ALTER TABLE media ADD COLUMN cluster TEXT;          -- repost cluster id (media_clusters.id)
    CREATE INDEX media_cluster ON media(cluster);
    CREATE TABLE media_clusters (       -- repost clusters: media that are the same picture
        id              TEXT PRIMARY KEY,   -- sha256[:16] of the first member fingerprinted (stable)
        origin_sha256   TEXT NOT NULL,      -- the earliest appearance: the origin candidate
        origin_channel  TEXT,
        origin_post     INTEGER,
        origin_date     TEXT,
        files           INTEGER NOT NULL,   -- distinct files in it
        appearances     INTEGER NOT NULL,   -- media items (posts) showing it
        channels        TEXT NOT NULL,      -- JSON list of channels, in order of first appearance
        max_distance    INTEGER,            -- largest PDQ distance of a link inside it
        updated_at      TEXT NOT NULL
    );
    CREATE TABLE hash_banks (           -- imported hash lists (victims' requests, case lists, StopNCII-style)
        name            TEXT PRIMARY KEY,
        source          TEXT,               -- file it was imported from
        imported_at     TEXT NOT NULL,
        hashes          INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE bank_hashes (
        bank            TEXT NOT NULL REFERENCES hash_banks(name),
        hash_type       TEXT NOT NULL,      -- pdq, md5, sha256, phash
        hash            TEXT NOT NULL,      -- lower-case hex
        label           TEXT NOT NULL DEFAULT '',
        line            INTEGER,            -- line of the imported file
        PRIMARY KEY (bank, hash_type, hash)
    );
    CREATE INDEX bank_hashes_lookup ON bank_hashes(hash_type, hash);
    CREATE TABLE bank_matches (         -- a collected media file matching a bank hash
        sha256          TEXT NOT NULL,      -- media
        bank            TEXT NOT NULL,
        hash_type       TEXT NOT NULL,
        hash            TEXT NOT NULL,
        label           TEXT NOT NULL DEFAULT '',
        distance        INTEGER NOT NULL,
        tier            TEXT NOT NULL,      -- near-certain, match, weak lead
        via             TEXT NOT NULL,      -- which of the file's hashes matched (whole, rotated 90, trimmed...)
        matched_at      TEXT NOT NULL,
        PRIMARY KEY (sha256, bank, hash_type, hash)
    );
    CREATE INDEX bank_matches_bank ON bank_matches(bank);
    """,
    """
    -- v5?: takedown re-checks of escalated posts (tgsweep/takedown.py)
    CREATE TABLE takedown_checks (      -- one row per escalated post URL, updated by each re-check
        url             TEXT PRIMARY KEY,   -- https://t.me/<channel>/<id>
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        subject         TEXT,               -- the escalated node id behind it
        escalated_at    TEXT,               -- when the subject was first seen escalated by a check
        post_first_seen TEXT,               -- when the post was first collected
        first_checked_at TEXT NOT NULL,
        last_checked_at TEXT NOT NULL,
        last_seen_up_at TEXT,
        taken_down_at   TEXT,               -- first check that found it gone (NULL while up)
        checks          INTEGER NOT NULL DEFAULT 0,
        last_status     TEXT NOT NULL,      -- up, down, error
        last_detail     TEXT,               -- "Post not found", "http 502", ...
        capture_sha256  TEXT                -- raw capture of the last definitive answer
    );
    """,
    """
    -- v6?: escalation scores of graph nodes (graph/escalation.py)
    CREATE TABLE escalations (          -- one row per channel, bot or media cluster scored by `graph build`
        subject         TEXT PRIMARY KEY,   -- graph node id: channel:<u>, bot:<u>, media:<cluster>
        kind            TEXT NOT NULL,      -- channel, bot, media
        score           REAL NOT NULL,      -- 0..1
        reasons         TEXT NOT NULL,      -- JSON list of strings a person can read
        pagerank        REAL,
        community       INTEGER,
        computed_at     TEXT NOT NULL,
        signals         TEXT,               -- JSON object: each signal's value 0..1 before weighting
        escalated_at    TEXT                -- first time the score reached [graph] escalation_threshold
    );
    CREATE INDEX escalations_score ON escalations(score);
    """,
    """
    -- v7?: alert delivery state per sink (graph/delivery.py). alerts.state sums it up:
    -- pending until every configured sink has the alert delivered or dead.
    CREATE TABLE alert_deliveries (
        alert_id        TEXT NOT NULL,      -- alerts.id (the webhook-id)
        sink            TEXT NOT NULL,      -- stable sink identity: webhook:<url without query/credentials>, jsonl:<path>
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending, delivered, dead
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,               -- due time of the next try (ISO 8601, UTC)
        window_start    TEXT NOT NULL,      -- retries go on until this + [alerts] max_age_days (`alerts retry` resets it)
        last_status     INTEGER,            -- HTTP status of the last try (webhook)
        last_error      TEXT,               -- why the last try failed / why it was dead-lettered
        delivered_at    TEXT,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries(sink, state, next_attempt_at);
    CREATE INDEX alerts_state ON alerts(state, created_at);
    """,
    """
    -- v8?: automation scores of channels and posting accounts (detectors/automation_stage.py).
    -- Rewritten whole by every detect stage; insufficient_data subjects have score 0.
    CREATE TABLE automation_scores (
        subject         TEXT PRIMARY KEY,   -- channel:<username> or account:<from_id | channel/signature>
        kind            TEXT NOT NULL,      -- channel or account
        score           REAL NOT NULL,      -- 0..1, noisy-OR of the weighted subscores
        reasons         TEXT NOT NULL,      -- JSON list of strings a person can read
        features        TEXT NOT NULL,      -- JSON object: verdict, subscores, the measured values
        computed_at     TEXT NOT NULL
    );
    CREATE INDEX automation_scores_score ON automation_scores(score);
    """,
    """
    -- v9?: the Telethon collector (crawler/telethon_collect.py): entity cache and flood waits.
    CREATE TABLE telethon_entities (    -- resolved once, reused by every sweep (no ResolveUsername each time)
        username        TEXT PRIMARY KEY,   -- lower case, no @
        peer_id         INTEGER,            -- bare id (channel_id / user_id); NULL: not resolvable
        kind            TEXT NOT NULL,      -- channel, group, bot, user, not_found, invalid
        access_hash     INTEGER,            -- bound to this account's session
        resolved_at     TEXT NOT NULL,
        full_at         TEXT,               -- last GetFullChannel / GetFullUser (refreshed after profile_refresh_hours)
        profile         TEXT,               -- JSON: the mapped full profile
        error           TEXT                -- why it could not be resolved
    );
    CREATE INDEX telethon_entities_peer ON telethon_entities(peer_id);
    CREATE TABLE telethon_waits (       -- account-wide flood waits (a channel's own wait is cursors.not_before)
        scope           TEXT PRIMARY KEY,   -- account:<request kind> (history, resolve, full_channel, full_user, media)
        until           TEXT NOT NULL,      -- ISO 8601 UTC: no request of this kind before then
        seconds         INTEGER NOT NULL,
        request         TEXT NOT NULL,
        recorded_at     TEXT NOT NULL
    );
    """,
    """
    -- v10?: video keyframes (detectors/video.py): JSON list of {t, pdq, pdq_quality, phash, pdq_alt, pdq_lookup}
    ALTER TABLE media ADD COLUMN frames TEXT;
    """,
    """
    -- v11: every version of a post (edits and deletions), each citing the capture it was read from.
    -- posts holds the newest; a version is never overwritten (nothing silently lost).
    CREATE TABLE post_versions (
        channel         TEXT NOT NULL,
        id              INTEGER NOT NULL,
        version         INTEGER NOT NULL,   -- 1, 2, ... per post
        kind            TEXT NOT NULL,      -- first, edit, deleted
        source          TEXT NOT NULL,      -- web, telethon, embed (a takedown re-check)
        text            TEXT,
        content         TEXT,               -- JSON of what an edit can change (tgsweep's content key)
        capture_sha256  TEXT,               -- the capture this version was read from
        seen_at         TEXT NOT NULL,
        sweep_id        INTEGER,
        PRIMARY KEY (channel, id, version)
    );
    INSERT INTO post_versions(channel, id, version, kind, source, text, content, capture_sha256, seen_at)
        SELECT channel, id, 1, 'first', source, text, NULL, capture_sha256, first_seen FROM posts;
    ALTER TABLE sweeps ADD COLUMN pid INTEGER;      -- the process running it: a dead one's sweep is 'killed'
    ALTER TABLE media_items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    """,
]

GENESIS = "0" * 64


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(prev_hash: str, seq: int, at: str, action: str, digest: str, url: str, sweep_id: int | None) -> str:
    """The custody chain link: any edit to an entry or its order changes every later hash."""
    body = json.dumps([prev_hash, seq, at, action, digest, url, sweep_id], separators=(",", ":"))
    return sha256(body.encode())


@dataclass(slots=True)
class Capture:
    """Raw bytes as received, with where they came from."""

    kind: str
    url: str
    content: bytes

    @property
    def sha256(self) -> str:
        return sha256(self.content)


@dataclass(slots=True)
class StoredMedia:
    sha256: str
    md5: str
    size: int
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    path: str | None = None


@dataclass(slots=True)
class PostLimits:
    """Per-post caps ([web] max_bot_lookups_per_post, max_media_per_post): a hostile post names 300 bots."""

    bot_lookups: int = 10
    media: int = 20


@dataclass(slots=True)
class Ingested:
    """What one page added, and what it asks to fetch next."""

    new_ids: list[int] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)  # media_items rows to download
    bots: list[str] = field(default_factory=list)  # referenced bots with no profile yet
    limited: list[str] = field(default_factory=list)  # what a cap cut, said as an error


@dataclass(slots=True)
class VerifyReport:
    entries: int
    captures: int
    media_files: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


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


class Store:
    """All reads and writes of the database. Open with `await Store.open(path)`."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self.db = db  # reads, migrations
        self.path = path
        self._write_lock = asyncio.Lock()  # one write transaction at a time
        self._writer: _Writer | None = None  # every write: see _Writer

    @classmethod
    async def open(cls, path: str | Path) -> "Store":
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
        store._writer = _Writer.open(path)
        return store

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.conn.close()
        await self.db.close()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def migrate(self) -> int:
        """Apply the migrations this database has not seen, each atomically."""
        (version,) = (await self.db.execute_fetchall("PRAGMA user_version"))[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                await self.db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")
            except BaseException as exc:
                if self.db.in_transaction:
                    await self.db.execute("ROLLBACK")
                # several processes opening a new database at once: another one applied it first
                (now_at,) = (await self.db.execute_fetchall("PRAGMA user_version"))[0]
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
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def fetchall(self, sql: str, params: tuple | list = ()) -> list[aiosqlite.Row]:
        return list(await self.db.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: tuple | list = ()) -> aiosqlite.Row | None:
        # the cursor is closed at once: an open statement would hold the reader's snapshot, and every
        # later read on it would miss what the writer committed since
        async with self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    # -- sweeps ---------------------------------------------------------------------------

    async def start_sweep(self, source: str) -> int:
        """A new sweep, `running` under this process; sweeps whose process died are closed as `killed` first."""
        async with self.transaction():
            running = await self._writer.execute_fetchall("SELECT id, pid FROM sweeps WHERE status='running'")
            dead = [(now(), r[0]) for r in running if r[1] is None or not _alive(r[1])]
            if dead:
                await self._writer.executemany(
                    "UPDATE sweeps SET status='killed', finished_at=? WHERE id=? AND status='running'", dead)
            cur = await self._writer.execute(
                "INSERT INTO sweeps(source, started_at, status, pid) VALUES (?, ?, 'running', ?)",
                (source, now(), os.getpid()))
            return cur.lastrowid

    async def finish_sweep(self, sweep_id: int, status: str, stats: dict[str, Any]) -> None:
        async with self.transaction():
            await self._writer.execute(
                "UPDATE sweeps SET finished_at=?, status=?, stats=? WHERE id=?",
                (now(), status, json.dumps(stats, sort_keys=True), sweep_id),
            )

    async def record_error(self, sweep_id: int | None, kind: str, message: str,
                           channel: str | None = None, url: str | None = None) -> None:
        async with self.transaction():
            await self._record_error(sweep_id, kind, message, channel, url)

    async def _record_error(self, sweep_id, kind, message, channel=None, url=None) -> None:
        await self._writer.execute(
            "INSERT INTO sweep_errors(sweep_id, at, channel, url, kind, message) VALUES (?,?,?,?,?,?)",
            (sweep_id, now(), channel, url, kind, message[:2000]),
        )
        if channel:
            await self._writer.execute(
                "UPDATE cursors SET last_error=?, updated_at=? WHERE channel=?", (f"{kind}: {message}"[:500], now(), channel)
            )

    # -- channels and cursors --------------------------------------------------------------

    async def watch(self, usernames: list[str]) -> None:
        """Mark the watchlist (depth 0) in the store; channels removed with `watch remove` stay removed."""
        async with self.transaction():
            removed = {r[0] for r in await self._writer.execute_fetchall(
                "SELECT username FROM channels WHERE unwatched_at IS NOT NULL")}
            for name in usernames:
                if name not in removed:
                    await self._touch_channel(name, watched=1, depth=0)

    async def set_watched(self, username: str, watched: bool) -> None:
        """`tgsweep watch add|remove`: on the watchlist (depth 0), or removed (overrides the config file)."""
        async with self.transaction():
            await self._touch_channel(username, watched=1 if watched else 0, depth=0 if watched else None)
            await self._writer.execute("UPDATE channels SET watched=?, unwatched_at=? WHERE username=?",
                                  (int(watched), None if watched else now(), username))

    async def watchlist(self, configured: list[str]) -> list[dict[str, Any]]:
        """The effective watchlist and where each name comes from: (config ∪ watched=1) minus removed."""
        rows = {r[0]: (r[1], r[2]) for r in await self.db.execute_fetchall(
            "SELECT username, watched, unwatched_at FROM channels WHERE watched=1 OR unwatched_at IS NOT NULL")}
        entries = []
        for name in sorted(set(configured) | set(rows)):
            watched, removed_at = rows.get(name, (0, None))
            entries.append({"channel": name, "in_config": name in configured, "in_database": bool(watched),
                            "removed_at": removed_at, "swept": removed_at is None})
        return entries

    async def channel_names(self) -> set[str]:
        """Every channel name the store has seen (for "did you mean")."""
        return {r[0] for r in await self.fetchall("SELECT username FROM channels")}

    _TOUCH_CHANNEL = """INSERT INTO channels(username, watched, depth, discovered_from, first_seen, last_seen)
               VALUES (?,?,?,?,?,?)
               ON CONFLICT(username) DO UPDATE SET
                 watched = max(watched, excluded.watched),
                 depth = CASE WHEN depth IS NULL OR excluded.depth < depth THEN excluded.depth ELSE depth END,
                 discovered_from = coalesce(discovered_from, excluded.discovered_from),
                 last_seen = excluded.last_seen"""

    async def _touch_channel(self, username: str, watched: int = 0, depth: int | None = None,
                             discovered_from: str | None = None) -> None:
        t = now()
        await self._writer.execute(self._TOUCH_CHANNEL, (username, watched, depth, discovered_from, t, t))

    async def discovered(self, username: str, depth: int, discovered_from: str) -> None:
        async with self.transaction():
            await self._touch_channel(username, depth=depth, discovered_from=discovered_from)

    async def get_cursor(self, channel: str, source: str = "web") -> Cursor:
        rows = await self._writer.execute_fetchall(  # on the loop's thread: no hop to aiosqlite's
            "SELECT last_id, pending_top, pending_bottom FROM cursors WHERE channel=? AND source=?", (channel, source)
        )
        return Cursor(*rows[0]) if rows else Cursor()

    async def _set_cursor(self, channel: str, source: str, cursor: Cursor, done: bool) -> None:
        t = now()
        await self._writer.execute(
            """INSERT INTO cursors(channel, source, last_id, pending_top, pending_bottom, last_success, updated_at)
               VALUES (?,?,?,?,?,?,?)
               ON CONFLICT(channel, source) DO UPDATE SET last_id=excluded.last_id,
                 pending_top=excluded.pending_top, pending_bottom=excluded.pending_bottom,
                 last_success=coalesce(excluded.last_success, last_success), updated_at=excluded.updated_at""",
            (channel, source, cursor.last_id, cursor.top, cursor.bottom, t if done else None, t),
        )

    async def mark_channel_done(self, channel: str, source: str = "web") -> None:
        """A channel swept to the end without new pages (empty feed, no preview): note the success."""
        async with self.transaction():
            await self._set_cursor(channel, source, await self.get_cursor(channel, source), done=True)

    # -- captures and custody --------------------------------------------------------------

    async def _custody(self, action: str, digest: str, url: str, sweep_id: int | None) -> None:
        rows = await self._writer.execute_fetchall("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")
        seq, prev = (rows[0][0] + 1, rows[0][1]) if rows else (1, GENESIS)
        at = now()
        await self._writer.execute(
            "INSERT INTO custody_log(seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?)",
            (seq, at, action, digest, url, sweep_id, prev, entry_hash(prev, seq, at, action, digest, url, sweep_id)),
        )

    async def capture(self, capture: Capture, sweep_id: int | None) -> str:
        """Keep one raw capture unaltered with its custody entry; inside `transaction()`."""
        digest = capture.sha256
        await self._writer.execute(
            "INSERT OR IGNORE INTO raw_captures(sha256, kind, url, size, encoding, content, first_fetched) VALUES (?,?,?,?,?,?,?)",
            (digest, capture.kind, capture.url, len(capture.content), "zlib", zlib.compress(capture.content, 1), now()),
        )
        await self._custody("capture", digest, capture.url, sweep_id)
        return digest

    async def read_capture(self, digest: str) -> bytes:
        row = await self.fetchone("SELECT encoding, content FROM raw_captures WHERE sha256=?", (digest,))
        if row is None:
            raise KeyError(digest)
        return _decode(row[0], row[1])

    # -- ingestion ------------------------------------------------------------------------

    async def ingest_page(self, sweep_id: int | None, channel: str, info: ChannelInfo | None, posts: list[Post],
                          capture: Capture, cursor: Cursor, done: bool, source: str = "web",
                          pending_too: bool = False, limits: PostLimits | None = None) -> Ingested:
        """Store one page: capture, custody entry, header, posts and their versions, refs, cursor; one transaction.

        Returns the new post ids, and what the page asks to fetch next, read inside the same
        transaction on the writer (a reader connection may not see the page yet): media items
        still pending (with `pending_too`, also those an earlier, cut-off sweep left), and bots
        that have no profile yet.
        """
        async with self.transaction():
            digest = await self.capture(capture, sweep_id)
            await self._touch_channel(channel)
            if info is not None:
                await self._channel_info(channel, info, posts)
            result = await self._posts(posts, digest, sweep_id, limits or PostLimits())
            await self._set_cursor(channel, source, cursor, done)
            result.media = await self._media_to_fetch(channel, result.new_ids, pending_too)
            if result.bots:
                marks = ",".join("?" * len(result.bots))
                rows = await self._writer.execute_fetchall(
                    f"""SELECT b.username FROM bots b LEFT JOIN channels c ON c.username = b.username
                        WHERE b.username IN ({marks}) AND b.confirmed IS NOT 0 AND b.profile IS NULL
                          AND c.profile_at IS NULL""", result.bots)
                unprofiled = {r[0] for r in rows}
                result.bots = [b for b in result.bots if b in unprofiled]
            for error in result.limited:
                await self._record_error(sweep_id, "limit", error, channel, capture.url)
        return result

    async def _media_to_fetch(self, channel: str, post_ids: list[int], pending_too: bool) -> list[dict[str, Any]]:
        if not post_ids and not pending_too:
            return []
        marks = ",".join("?" * len(post_ids))
        rows = await self._writer.execute_fetchall(
            f"""SELECT channel, post_id, position, kind, url, thumb_url, status FROM media_items
                WHERE channel=? AND ((post_id IN ({marks}) AND status != 'skipped'
                                      AND (status='pending' OR thumb_url IS NOT NULL))
                     OR (? AND status='pending' AND fetched_at IS NULL))
                ORDER BY post_id, position""", [channel, *post_ids, int(pending_too)])
        return [dict(r) for r in rows]

    async def pending_bot_profiles(self, limit: int) -> list[str]:
        """Bots referenced but never profiled (a sweep killed before it read them), oldest first."""
        rows = await self.fetchall(
            """SELECT b.username FROM bots b LEFT JOIN channels c ON c.username = b.username
               WHERE b.confirmed IS NOT 0 AND b.profile IS NULL AND c.profile_at IS NULL
               ORDER BY b.first_seen, b.username LIMIT ?""", (limit,))
        return [r[0] for r in rows]

    async def _channel_info(self, channel: str, info: ChannelInfo, posts: list[Post]) -> None:
        channel_id = next((p.channel_id for p in posts if p.channel_id), None)
        await self._writer.execute(
            """UPDATE channels SET title=?, description=?, verified=?, photo_url=?, counters=?, has_preview=1,
                 kind=coalesce(kind, 'channel'), channel_id=coalesce(?, channel_id), profile_at=? WHERE username=?""",
            (info.title, info.description, int(info.verified), info.photo_url, json.dumps(info.counters),
             channel_id, now(), channel),
        )

    async def _posts(self, posts: list[Post], digest: str, sweep_id: int | None, limits: PostLimits) -> Ingested:
        result = Ingested()
        if not posts:
            return result
        channel = posts[0].channel
        ids = [p.id for p in posts]
        marks = ",".join("?" * len(ids))
        existing = {r[0]: r[1] for r in await self._writer.execute_fetchall(
            f"SELECT id, source FROM posts WHERE channel=? AND id IN ({marks})", [channel, *ids])}
        latest = {(r[0], r[1]): (r[2], r[3]) for r in await self._writer.execute_fetchall(
            f"""SELECT id, source, version, content FROM post_versions v WHERE channel=? AND id IN ({marks})
                AND version = (SELECT max(version) FROM post_versions WHERE channel=v.channel AND id=v.id
                               AND source=v.source)""", [channel, *ids])} if existing else {}
        newest = {r[0]: r[1] for r in await self._writer.execute_fetchall(
            f"SELECT id, max(version) FROM post_versions WHERE channel=? AND id IN ({marks}) GROUP BY id",
            [channel, *ids])} if existing else {}
        t = now()
        rows, media_rows, bot_rows, ref_rows, versions, edited = [], [], [], [], [], []
        for p in posts:
            fwd, reply = p.forwarded_from, p.reply_to
            key = p.content_key()
            rows.append((p.channel, p.id, p.channel_id, p.date, p.text, p.views, int(p.edited), p.author,
                         fwd.channel if fwd else None, fwd.post if fwd else None, fwd.name if fwd else None,
                         reply.channel if reply else None, reply.post if reply else None,
                         p.via_bot, p.service, p.source, p.to_json(), digest, t, t))
            refs = bot_refs(p)
            names = list(dict.fromkeys(r.username for r in refs))
            if len(names) > limits.bot_lookups:
                result.limited.append(f"post {p.id} names {len(names)} bots; profiles are read for the first "
                                      f"{limits.bot_lookups} ([web] max_bot_lookups_per_post)")
            result.bots += [b for b in names[:limits.bot_lookups] if b not in result.bots]
            if p.id in existing:
                before = latest.get((p.id, p.source))
                if before is None or (before[1] is not None and before[1] != key):
                    # a version from this collector: the first it saw, or an edit (never overwritten)
                    version = newest.get(p.id, 0) + 1
                    newest[p.id] = version
                    versions.append((p.channel, p.id, version, "edit" if before else "first", p.source, p.text,
                                     key, digest, t, sweep_id))
                    if before is not None:
                        edited.append((p.text, digest, p.channel, p.id))
                elif before[1] is None:  # migrated from before versions were kept: fill in its content key
                    await self._writer.execute(
                        "UPDATE post_versions SET content=? WHERE channel=? AND id=? AND version=?",
                        (key, p.channel, p.id, before[0]))
                if existing[p.id] != p.source:  # the other collector saw it first: add what only this one sees
                    bot_rows += [(p.channel, p.id, r.username, r.how, r.param or "") for r in refs]
                    ref_rows += [(p.channel, p.id, r.username, r.how, r.post) for r in channel_refs(p)]
                continue
            versions.append((p.channel, p.id, 1, "first", p.source, p.text, key, digest, t, sweep_id))
            for pos, m in enumerate(p.media):
                status, why = "pending", None
                if m.too_big:
                    status, why = "not_offered", "too big for the web preview (not offered)"
                elif not m.url:
                    status, why = "not_offered", f"the web preview offers no file for this {m.kind}"
                elif pos >= limits.media:
                    status, why = "skipped", f"over [web] max_media_per_post ({limits.media}): not downloaded"
                media_rows.append((p.channel, p.id, pos, m.post_id, m.kind, m.url, m.thumb_url, m.duration, status,
                                   why))
            if len(p.media) > limits.media:
                result.limited.append(f"post {p.id} has {len(p.media)} media items; the first {limits.media} are "
                                      f"downloaded ([web] max_media_per_post)")
            bot_rows += [(p.channel, p.id, r.username, r.how, r.param or "") for r in refs]
            ref_rows += [(p.channel, p.id, r.username, r.how, r.post) for r in channel_refs(p)]
        await self._writer.executemany(
            """INSERT INTO posts(channel, id, channel_id, date, text, views, edited, author, forwarded_channel,
                 forwarded_post, forwarded_name, reply_channel, reply_post, via_bot, service, source, record,
                 capture_sha256, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(channel, id) DO UPDATE SET views=coalesce(excluded.views, views),
                 edited=max(edited, excluded.edited),
                 record=CASE WHEN excluded.source = 'web' AND json_extract(record, '$.source') = 'telethon'
                             THEN record ELSE excluded.record END,  -- the API's record is the richer one
                 channel_id=coalesce(channel_id, excluded.channel_id), last_seen=excluded.last_seen""",
            rows,
        )
        if versions:
            await self._writer.executemany(
                """INSERT INTO post_versions(channel, id, version, kind, source, text, content, capture_sha256,
                     seen_at, sweep_id) VALUES (?,?,?,?,?,?,?,?,?,?)""", versions)
        if edited:  # the post shows its newest text and cites the capture that text came from
            await self._writer.executemany(
                "UPDATE posts SET text=?, capture_sha256=?, edited=1 WHERE channel=? AND id=?", edited)
        # Every statement is a round trip to aiosqlite's thread: none for an empty batch, one per batch.
        if media_rows:
            await self._writer.executemany(
                """INSERT OR IGNORE INTO media_items(channel, post_id, position, item_post_id, kind, url, thumb_url,
                     duration, status, error) VALUES (?,?,?,?,?,?,?,?,?,?)""", media_rows)
        if bot_rows:
            await self._writer.executemany("INSERT OR IGNORE INTO bot_refs VALUES (?,?,?,?,?)", bot_rows)
            await self._writer.executemany(
                "INSERT INTO bots(username, first_seen, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET last_seen=excluded.last_seen",
                [(b, t, t) for b in {r[2] for r in bot_rows}])
        if ref_rows:
            await self._writer.executemany("INSERT OR IGNORE INTO channel_refs VALUES (?,?,?,?,?)", ref_rows)
            touched = now()
            await self._writer.executemany(self._TOUCH_CHANNEL, [(target, 0, None, None, touched, touched)
                                                            for target in {r[2] for r in ref_rows}])
        result.new_ids = [i for i in ids if i not in existing]
        return result

    async def record_deleted(self, sweep_id: int | None, channel: str, post_id: int, capture_sha256: str | None,
                             source: str) -> bool:
        """A post found gone (a takedown re-check): kept as a `deleted` version; the post itself stays."""
        async with self.transaction():
            rows = await self._writer.execute_fetchall(
                "SELECT max(version), (SELECT kind FROM post_versions WHERE channel=? AND id=? ORDER BY version DESC "
                "LIMIT 1) FROM post_versions WHERE channel=? AND id=?", (channel, post_id, channel, post_id))
            version, kind = rows[0] if rows else (None, None)
            if version is None or kind == "deleted":
                return False
            await self._writer.execute(
                """INSERT INTO post_versions(channel, id, version, kind, source, text, content, capture_sha256,
                     seen_at, sweep_id) VALUES (?,?,?,'deleted',?,NULL,NULL,?,?,?)""",
                (channel, post_id, version + 1, source, capture_sha256, now(), sweep_id))
        return True

    async def record_entity(self, sweep_id: int | None, entity: EntityPage, capture: Capture) -> None:
        """An entity page (t.me/<name>): what the name is; bots get their public profile."""
        async with self.transaction():
            await self.capture(capture, sweep_id)
            t = now()
            if entity.kind == "bot" or entity.username.endswith("bot"):
                await self._writer.execute(
                    """INSERT INTO bots(username, confirmed, title, description, profile, first_seen, last_seen)
                       VALUES (?,?,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET confirmed=excluded.confirmed,
                       title=excluded.title, description=excluded.description,
                       profile=json_patch(coalesce(bots.profile, '{}'), excluded.profile),
                       last_seen=excluded.last_seen""",
                    # merged, not replaced: what only the API knows (commands, about, users) stays
                    (entity.username, int(entity.kind == "bot") if entity.kind != "unknown" else None,
                     entity.title, entity.description,
                     json.dumps({k: v for k, v in asdict(entity).items() if v not in (None, "", [], {})},
                                ensure_ascii=False), t, t),
                )
            await self._touch_channel(entity.username)
            await self._writer.execute(
                """UPDATE channels SET kind=?, title=coalesce(?, title), description=coalesce(?, description),
                     photo_url=coalesce(?, photo_url), has_preview=?, profile_at=? WHERE username=?""",
                (entity.kind, entity.title, entity.description, entity.photo_url, int(entity.has_preview), t,
                 entity.username),
            )

    # -- media ------------------------------------------------------------------------------

    async def store_media(self, sweep_id: int | None, channel: str, post_id: int, position: int, url: str,
                          media: StoredMedia | None, error: str | None, role: str = "main") -> None:
        """Record a fetched media file (or why it failed) on its appearance; custody-logs the bytes."""
        async with self.transaction():
            t = now()
            if media is not None:
                await self._writer.execute(
                    """INSERT OR IGNORE INTO media(sha256, md5, size, mime, width, height, path, first_seen)
                       VALUES (?,?,?,?,?,?,?,?)""",
                    (media.sha256, media.md5, media.size, media.mime, media.width, media.height, media.path, t))
                await self._custody("media", media.sha256, url, sweep_id)
            column = "thumb_sha256" if role == "thumb" else "sha256"
            if role == "thumb":
                await self._writer.execute(
                    f"UPDATE media_items SET {column}=? WHERE channel=? AND post_id=? AND position=?",
                    (media.sha256 if media else None, channel, post_id, position))
            else:
                await self._writer.execute(
                    """UPDATE media_items SET sha256=?, status=?, error=?, fetched_at=?
                       WHERE channel=? AND post_id=? AND position=?""",
                    (media.sha256 if media else None, "error" if error else "stored", error, t, channel, post_id,
                     position))
            if error:
                await self._record_error(sweep_id, "media", error, channel, url)

    # -- reading ------------------------------------------------------------------------------

    async def verify(self, media_dir: Path | None = None) -> VerifyReport:
        """Recompute the custody chain and every capture's (and kept media file's) SHA-256."""
        problems: list[str] = []
        prev, expected_seq, entries = GENESIS, 1, 0
        async with self.db.execute(
                "SELECT seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash FROM custody_log ORDER BY seq") as cur:
            async for seq, at, action, digest, url, sweep_id, prev_hash, stored_hash in cur:
                entries += 1
                if seq != expected_seq:
                    problems.append(f"custody entry {seq}: expected sequence number {expected_seq} (entries missing)")
                if prev_hash != prev:
                    problems.append(f"custody entry {seq}: prev_hash does not match entry {seq - 1}")
                if entry_hash(prev_hash, seq, at, action, digest, url, sweep_id) != stored_hash:
                    problems.append(f"custody entry {seq}: contents were altered (hash mismatch)")
                prev, expected_seq = stored_hash, seq + 1
        captures = 0
        async with self.db.execute("SELECT sha256, encoding, content FROM raw_captures") as cur:
            async for digest, encoding, content in cur:
                captures += 1
                try:
                    ok = sha256(_decode(encoding, content)) == digest
                except zlib.error:
                    ok = False
                if not ok:
                    problems.append(f"raw capture {digest[:16]}: content does not match its SHA-256")
        logged = {r[0] for r in await self.fetchall("SELECT DISTINCT sha256 FROM custody_log")}
        for (digest,) in await self.fetchall("SELECT sha256 FROM raw_captures"):
            if digest not in logged:
                problems.append(f"raw capture {digest[:16]}: has no custody entry")
        files = 0
        if media_dir is not None:
            for digest, path in await self.fetchall("SELECT sha256, path FROM media WHERE path IS NOT NULL"):
                files += 1
                file = media_dir / path
                if not file.exists():
                    problems.append(f"media {digest[:16]}: file {path} is missing")
                elif sha256(file.read_bytes()) != digest:
                    problems.append(f"media {digest[:16]}: file {path} does not match its SHA-256")
        return VerifyReport(entries, captures, files, problems)


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine: the store is a local file)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _decode(encoding: str, content: bytes) -> bytes:
    return zlib.decompress(content) if encoding == "zlib" else bytes(content)
