"""SQL of the store, collection: sweeps and their errors, the watchlist, cursors, captures and the
custody chain, pages of posts with their versions and references, entity pages, media items."""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from store.custody import GENESIS, entry_hash, sha256
from store.records import (
    Capture,
    ChannelInfo,
    Cursor,
    EntityPage,
    Ingested,
    Post,
    PostLimits,
    StoredMedia,
    VerifyReport,
    now,
)
from store.refs import bot_refs, channel_refs
from store.sqlite.database import Database, marks


class CollectionSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    # -- sweeps ---------------------------------------------------------------------------

    async def start_sweep(self, source: str) -> int:
        """A new sweep, `running` under this process; sweeps whose process died are closed as `killed` first."""
        async with self.transaction():
            running = await self._writer.execute_fetchall("SELECT id, pid FROM sweeps WHERE status='running'")
            dead = [(now(), r[0]) for r in running if r[1] is None or not _alive(r[1])]
            if dead:
                await self._writer.executemany(
                    "UPDATE sweeps SET status='killed', finished_at=? WHERE id=? AND status='running'", dead)
            rows = await self._writer.execute_fetchall(
                "INSERT INTO sweeps(source, started_at, status, pid) VALUES (?, ?, 'running', ?) RETURNING id",
                (source, now(), os.getpid()))
            return int(rows[0][0])

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

    async def set_watched(self, username: str, watched: bool, provenance: str | None = None) -> None:
        """`tgsweep watch add|remove|import`: on the watchlist (depth 0), or removed (overrides the config file)."""
        async with self.transaction():
            await self._touch_channel(username, watched=1 if watched else 0, depth=0 if watched else None,
                                      discovered_from=provenance)
            await self._writer.execute("UPDATE channels SET watched=?, unwatched_at=? WHERE username=?",
                                  (int(watched), None if watched else now(), username))

    async def watchlist(self, configured: list[str]) -> list[dict[str, Any]]:
        """The effective watchlist and where each name comes from: (config ∪ watched=1) minus removed."""
        rows = {r[0]: (r[1], r[2]) for r in await self.fetchall(
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
                 watched = CASE WHEN excluded.watched > channels.watched THEN excluded.watched ELSE channels.watched END,
                 depth = CASE WHEN channels.depth IS NULL OR excluded.depth < channels.depth THEN excluded.depth
                              ELSE channels.depth END,
                 discovered_from = coalesce(channels.discovered_from, excluded.discovered_from),
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
                 last_success=coalesce(excluded.last_success, cursors.last_success), updated_at=excluded.updated_at
               WHERE excluded.last_id >= cursors.last_id""",  # a replayed, older job never moves a cursor back
            (channel, source, cursor.last_id, cursor.top, cursor.bottom, t if done else None, t),
        )

    async def mark_channel_done(self, channel: str, source: str = "web") -> None:
        """A channel swept to the end without new pages (empty feed, no preview): note the success."""
        async with self.transaction():
            await self._set_cursor(channel, source, await self.get_cursor(channel, source), done=True)

    async def removed_channels(self) -> set[str]:
        return {r[0] for r in await self.fetchall("SELECT username FROM channels WHERE unwatched_at IS NOT NULL")}

    async def last_successes(self, source: str) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.fetchall(
            "SELECT channel, last_success FROM cursors WHERE source=? AND last_success IS NOT NULL", (source,))}

    async def watched_channels(self) -> list[str]:
        return [r[0] for r in await self.fetchall("SELECT username FROM channels WHERE watched=1 ORDER BY username")]

    async def discovered_channels(self, max_depth: int) -> list[str]:
        return [r[0] for r in await self.fetchall(
            "SELECT username FROM channels WHERE depth BETWEEN 1 AND ? AND coalesce(has_preview, 1) = 1 "
            "AND coalesce(kind, 'channel') = 'channel' AND username NOT LIKE '%bot' AND unwatched_at IS NULL "
            "AND watched = 0 ORDER BY depth, username", (max_depth,))]

    async def channel_depth(self, username: str) -> int | None:
        row = await self.fetchone("SELECT depth FROM channels WHERE username=?", (username,))
        return row[0] if row else None

    async def bots_profiled_before(self, cutoff: str, limit: int) -> list[str]:
        rows = await self.fetchall(
            """SELECT b.username FROM bots b LEFT JOIN channels c ON c.username = b.username
               WHERE coalesce(b.confirmed, 1) != 0 AND (c.profile_at IS NULL OR c.profile_at <= ?)
               ORDER BY c.profile_at IS NOT NULL, c.profile_at, b.username LIMIT ?""", (cutoff, limit))
        return [r[0] for r in rows]

    async def count_unknown(self, usernames: list[str]) -> int:
        places = marks(usernames)
        return await self.scalar(f"SELECT count(*) FROM channels WHERE username IN ({places}) AND kind='unknown'",
                                 usernames)

    async def sweep_outcome(self, sweep_ids: list[int]) -> tuple[list[str], list[dict[str, Any]]]:
        places = marks(sweep_ids)
        statuses = [r[0] for r in await self.fetchall(
            f"SELECT status FROM sweeps WHERE id IN ({places}) ORDER BY id DESC", sweep_ids)]
        errors = [dict(r) for r in await self.fetchall(
            f"SELECT kind, channel, url, message FROM sweep_errors WHERE sweep_id IN ({places}) "
            "ORDER BY sweep_id, id", sweep_ids)]
        return statuses, errors

    # -- captures and custody --------------------------------------------------------------

    async def _custody(self, action: str, digest: str, url: str, sweep_id: int | None) -> None:
        """A custody entry, appended to the chain when this transaction commits (`_before_commit`)."""
        self._custody_pending.append((now(), action, digest, url, sweep_id))

    async def _before_commit(self) -> None:
        """The transaction's custody entries, chained last, in commit order (on PostgreSQL under the chain's
        own lock besides the one-writer lock, so the chain stays serial whatever the write locking)."""
        pending, self._custody_pending = self._custody_pending, []
        if not pending:
            return
        await self.lock(self._writer, "custody")  # one chain: its appends one writer at a time, in commit order
        rows = await self._writer.execute_fetchall("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")
        seq, prev = (rows[0][0], rows[0][1]) if rows else (0, GENESIS)
        entries = []
        for at, action, digest, url, sweep_id in pending:
            seq += 1
            link = entry_hash(prev, seq, at, action, digest, url, sweep_id)
            entries.append((seq, at, action, digest, url, sweep_id, prev, link))
            prev = link
        await self._writer.executemany(
            "INSERT INTO custody_log(seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?)",
            entries)

    async def capture(self, capture: Capture, sweep_id: int | None) -> str:
        """Keep one raw capture unaltered with its custody entry; inside `transaction()`."""
        digest = capture.sha256
        await self._writer.execute(
            "INSERT INTO raw_captures(sha256, kind, url, size, encoding, content, first_fetched) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT DO NOTHING",
            (digest, capture.kind, capture.url, len(capture.content), "zlib", zlib.compress(capture.content, 1), now()),
        )
        await self._custody("capture", digest, capture.url, sweep_id)
        return digest

    async def warc_files_recorded(self) -> dict[str, str]:
        rows = await self.fetchall("SELECT url, sha256 FROM custody_log WHERE action = 'warc'")
        return {url[len("warc:"):]: digest for url, digest in rows}

    async def record_warc_files(self, files: list[tuple[str, str, int]], sweep_id: int | None) -> None:
        async with self.transaction():
            for name, digest, _records in files:
                await self._custody("warc", digest, f"warc:{name}", sweep_id)

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
            await self.lock(self._writer, "append")  # posts and references: see store/postgres/graph.py
            digest = await self.capture(capture, sweep_id)
            await self._touch_channel(channel)
            if info is not None:
                await self._channel_info(channel, info, posts)
            result = await self._posts(posts, digest, sweep_id, limits or PostLimits())
            await self._set_cursor(channel, source, cursor, done)
            result.media = await self._media_to_fetch(channel, result.new_ids, pending_too)
            if result.bots:
                places = marks(result.bots)
                rows = await self._writer.execute_fetchall(
                    f"""SELECT b.username FROM bots b LEFT JOIN channels c ON c.username = b.username
                        WHERE b.username IN ({places}) AND coalesce(b.confirmed, 1) != 0 AND b.profile IS NULL
                          AND c.profile_at IS NULL""", result.bots)
                unprofiled = {r[0] for r in rows}
                result.bots = [b for b in result.bots if b in unprofiled]
            for error in result.limited:
                await self._record_error(sweep_id, "limit", error, channel, capture.url)
        return result

    async def _media_to_fetch(self, channel: str, post_ids: list[int], pending_too: bool) -> list[dict[str, Any]]:
        if not post_ids and not pending_too:
            return []
        places = marks(post_ids)
        rows = await self._writer.execute_fetchall(
            f"""SELECT channel, post_id, position, kind, url, thumb_url, status FROM media_items
                WHERE channel=? AND ((post_id IN ({places}) AND status != 'skipped'
                                      AND (status='pending' OR thumb_url IS NOT NULL))
                     OR (? = 1 AND status='pending' AND fetched_at IS NULL))
                ORDER BY post_id, position""", [channel, *post_ids, int(pending_too)])
        return [dict(r) for r in rows]

    async def pending_bot_profiles(self, limit: int) -> list[str]:
        """Bots referenced but never profiled (a sweep killed before it read them), oldest first."""
        rows = await self.fetchall(
            """SELECT b.username FROM bots b LEFT JOIN channels c ON c.username = b.username
               WHERE coalesce(b.confirmed, 1) != 0 AND b.profile IS NULL AND c.profile_at IS NULL
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
        places = marks(ids)
        existing = {r[0]: r[1] for r in await self._writer.execute_fetchall(
            f"SELECT id, source FROM posts WHERE channel=? AND id IN ({places})", [channel, *ids])}
        latest = {(r[0], r[1]): (r[2], r[3]) for r in await self._writer.execute_fetchall(
            f"""SELECT id, source, version, content FROM post_versions v WHERE channel=? AND id IN ({places})
                AND version = (SELECT max(version) FROM post_versions WHERE channel=v.channel AND id=v.id
                               AND source=v.source)""", [channel, *ids])} if existing else {}
        newest = {r[0]: r[1] for r in await self._writer.execute_fetchall(
            f"SELECT id, max(version) FROM post_versions WHERE channel=? AND id IN ({places}) GROUP BY id",
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
               ON CONFLICT(channel, id) DO UPDATE SET views=coalesce(excluded.views, posts.views),
                 edited=CASE WHEN excluded.edited > posts.edited THEN excluded.edited ELSE posts.edited END,
                 record=CASE WHEN excluded.source = 'web' AND json_extract(posts.record, '$.source') = 'telethon'
                             THEN posts.record ELSE excluded.record END,  -- the API's record is the richer one
                 channel_id=coalesce(posts.channel_id, excluded.channel_id), last_seen=excluded.last_seen""",
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
                """INSERT INTO media_items(channel, post_id, position, item_post_id, kind, url, thumb_url,
                     duration, status, error) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING""", media_rows)
        if bot_rows:
            await self._writer.executemany("INSERT INTO bot_refs(channel, post_id, bot, how, param) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", bot_rows)
            await self._writer.executemany(
                "INSERT INTO bots(username, first_seen, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET last_seen=excluded.last_seen",
                [(b, t, t) for b in {r[2] for r in bot_rows}])
        if ref_rows:
            await self._writer.executemany("INSERT INTO channel_refs(channel, post_id, target, how, target_post) VALUES (?,?,?,?,?) "
                "ON CONFLICT DO NOTHING", ref_rows)
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
                    """INSERT INTO media(sha256, md5, size, mime, width, height, path, first_seen)
                       VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING""",
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
        async for seq, at, action, digest, url, sweep_id, prev_hash, stored_hash in self.iterate(
                "SELECT seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash FROM custody_log ORDER BY seq"):
            entries += 1
            if seq != expected_seq:
                problems.append(f"custody entry {seq}: expected sequence number {expected_seq} (entries missing)")
            if prev_hash != prev:
                problems.append(f"custody entry {seq}: prev_hash does not match entry {seq - 1}")
            if entry_hash(prev_hash, seq, at, action, digest, url, sweep_id) != stored_hash:
                problems.append(f"custody entry {seq}: contents were altered (hash mismatch)")
            prev, expected_seq = stored_hash, seq + 1
        captures = 0
        async for digest, encoding, content in self.iterate("SELECT sha256, encoding, content FROM raw_captures"):
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
