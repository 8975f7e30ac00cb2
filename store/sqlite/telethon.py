"""SQL of the store, Telethon collection state: the entity cache and flood waits (store/telethon.py)."""
from __future__ import annotations

import json
from typing import Any

from store.records import Capture, now
from store.sqlite.collection import CollectionSQL
from store.sqlite.database import marks
from store.telethon import DEFAULT_ACCOUNT, SOURCE, CachedEntity, in_future, until


class TelethonSQL(CollectionSQL):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def cached_entity(self, username: str, account: str = DEFAULT_ACCOUNT) -> CachedEntity | None:
        row = await self.fetchone(
            "SELECT e.username, e.peer_id, e.kind, a.access_hash, e.resolved_at, e.full_at, e.profile, e.error "
            "FROM telethon_entities e LEFT JOIN telethon_access a ON a.username = e.username AND a.account = ? "
            "WHERE e.username=?", (account, username.lower()))
        if row is None:
            return None
        return CachedEntity(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]) if row[6] else None,
                            row[7])

    async def cache_entities(self, entries: list[tuple[str, int | None, str, int | None, str | None]],
                             account: str = DEFAULT_ACCOUNT) -> None:
        if not entries:
            return
        t = now()
        async with self.transaction() as db:
            await db.executemany(
                """INSERT INTO telethon_entities(username, peer_id, kind, resolved_at, error)
                   VALUES (?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET
                     peer_id=coalesce(excluded.peer_id, telethon_entities.peer_id), kind=excluded.kind,
                     resolved_at=excluded.resolved_at, error=excluded.error""",
                [(u.lower(), pid, kind, t, err) for u, pid, kind, _, err in entries])
            await db.executemany(
                """INSERT INTO telethon_access(account, username, access_hash) VALUES (?,?,?)
                   ON CONFLICT(account, username) DO UPDATE SET access_hash=excluded.access_hash""",
                [(account, u.lower(), ah) for u, _, _, ah, _ in entries if ah is not None])

    async def forget_access_hash(self, username: str, account: str = DEFAULT_ACCOUNT) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM telethon_access WHERE account=? AND username=?", (account, username.lower()))

    async def account_waits(self, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
        return (await self.all_account_waits()).get(account, {})

    async def all_account_waits(self) -> dict[str, dict[str, str]]:
        waits: dict[str, dict[str, str]] = {}
        for scope, at in await self.fetchall("SELECT scope, until FROM telethon_waits ORDER BY scope"):
            if in_future(at):
                account, _, kind = scope.rpartition(":")
                waits.setdefault(account, {})[kind] = at
        return waits

    async def record_account_wait(self, kind: str, seconds: int, request: str,
                                  account: str = DEFAULT_ACCOUNT) -> str:
        at = until(seconds)
        async with self.transaction() as db:
            await db.execute(
                """INSERT INTO telethon_waits(scope, until, seconds, request, recorded_at) VALUES (?,?,?,?,?)
                   ON CONFLICT(scope) DO UPDATE SET until=excluded.until, seconds=excluded.seconds,
                     request=excluded.request, recorded_at=excluded.recorded_at""",
                (f"{account}:{kind}", at, seconds, request, now()))
        return at

    async def channel_wait(self, channel: str) -> str | None:
        row = await self.fetchone("SELECT not_before FROM cursors WHERE channel=? AND source=?", (channel, SOURCE))
        return row[0] if row and in_future(row[0]) else None

    async def record_channel_wait(self, channel: str, seconds: int) -> str:
        at = until(seconds)
        async with self.transaction() as db:
            await db.execute(
                """INSERT INTO cursors(channel, source, not_before, updated_at) VALUES (?,?,?,?)
                   ON CONFLICT(channel, source) DO UPDATE SET not_before=excluded.not_before,
                     updated_at=excluded.updated_at""", (channel, SOURCE, at, now()))
        return at

    # -- what the API collector writes beside the pages -------------------------------------------

    async def stored_channel_id(self, username: str) -> int | None:
        row = await self.fetchone("SELECT channel_id FROM channels WHERE username=?", (username,))
        return row[0] if row else None

    async def note_channel_id(self, username: str, channel_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE channels SET channel_id=coalesce(channel_id, ?) WHERE username=?",
                             (channel_id, username))

    async def known_users(self, peer_ids: set[int]) -> list[tuple[int, str, str]]:
        rows = await self.fetchall(
            f"SELECT peer_id, username, kind FROM telethon_entities WHERE kind IN ('bot', 'user') "
            f"AND peer_id IN ({marks(peer_ids)})", list(peer_ids))
        return [(r[0], r[1], r[2]) for r in rows]

    async def pending_api_media_posts(self, channel: str, limit: int) -> list[tuple[int, int]]:
        rows = await self.fetchall(
            """SELECT DISTINCT post_id, coalesce(item_post_id, post_id) FROM media_items
               WHERE channel=? AND status='pending' AND url LIKE 'tg://%' ORDER BY post_id LIMIT ?""", (channel, limit))
        return [(r[0], r[1]) for r in rows]

    async def pending_api_media(self, channel: str, post_ids: list[int]) -> list[Any]:
        return await self.fetchall(
            f"""SELECT post_id, position, item_post_id, kind, url, thumb_url FROM media_items
                WHERE status='pending' AND channel=? AND url LIKE 'tg://%' AND post_id IN ({marks(post_ids)})
                ORDER BY post_id, position""", [channel, *post_ids])

    async def media_not_offered(self, channel: str, post_id: int, position: int, why: str) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE media_items SET status='not_offered', error=? WHERE channel=? AND post_id=? "
                             "AND position=?", (why, channel, post_id, position))

    async def save_api_channel_profile(self, name: str, profile: dict[str, Any], capture: Capture,
                                       sweep_id: int | None) -> None:
        t = now()
        async with self.transaction() as db:
            await self.capture(capture, sweep_id)
            await db.execute(
                """INSERT INTO channels(username, watched, first_seen, last_seen) VALUES (?,0,?,?)
                   ON CONFLICT(username) DO UPDATE SET last_seen=excluded.last_seen""", (name, t, t))
            await db.execute(
                """UPDATE channels SET channel_id=?, kind=?, title=coalesce(?, title), description=?, verified=?,
                     counters=json_set(coalesce(counters, '{}'), '$.subscribers', ?), profile_at=? WHERE username=?""",
                (profile["id"], profile["kind"], profile["title"], profile["about"], int(profile["verified"]),
                 profile["participants_count"], t, name))
            await db.execute("UPDATE telethon_entities SET kind=?, full_at=?, profile=? WHERE username=?",
                             (profile["kind"], t, json.dumps(profile, ensure_ascii=False), name))
            for bot in profile["bots"]:  # bots in the chat: their commands come with the channel's profile
                if bot["username"]:
                    await db.execute(
                        """INSERT INTO bots(username, confirmed, title, description, profile, first_seen, last_seen)
                           VALUES (?,1,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET confirmed=1,
                             title=coalesce(bots.title, excluded.title),
                             description=coalesce(bots.description, excluded.description),
                             profile=coalesce(bots.profile, excluded.profile), last_seen=excluded.last_seen""",
                        (bot["username"], bot["title"], bot["description"],
                         json.dumps(bot | {"in_chat": name}, ensure_ascii=False), t, t))

    async def bots_for_api_profiles(self) -> list[str]:
        return [r[0] for r in await self.fetchall(
            """SELECT b.username FROM bots b LEFT JOIN telethon_entities e ON e.username = b.username
               WHERE coalesce(b.confirmed, 1) != 0 AND (e.kind IS NULL OR e.kind IN ('bot', 'not_found', 'invalid'))
               ORDER BY b.username""")]

    async def save_api_bot_profile(self, name: str, profile: dict[str, Any], capture: Capture,
                                   sweep_id: int | None) -> None:
        t = now()
        async with self.transaction() as db:
            await self.capture(capture, sweep_id)
            await db.execute("UPDATE telethon_entities SET kind=?, full_at=?, profile=? WHERE username=?",
                             (profile["kind"], t, json.dumps(profile, ensure_ascii=False), name))
            await db.execute(
                """INSERT INTO bots(username, confirmed, title, description, profile, first_seen, last_seen)
                   VALUES (?,?,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET confirmed=excluded.confirmed,
                     title=excluded.title, description=excluded.description, profile=excluded.profile,
                     last_seen=excluded.last_seen""",
                (name, int(profile["bot"]), profile["title"], profile["description"],
                 json.dumps(profile, ensure_ascii=False), t, t))
            await db.execute(
                """INSERT INTO channels(username, watched, first_seen, last_seen, kind, title, description, profile_at)
                   VALUES (?,0,?,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET kind=excluded.kind,
                     title=excluded.title, description=excluded.description, profile_at=excluded.profile_at""",
                (name, t, t, profile["kind"], profile["title"], profile["description"] or profile["about"], t))

    async def mark_not_a_bot(self, username: str) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE bots SET confirmed=0 WHERE username=?", (username,))
