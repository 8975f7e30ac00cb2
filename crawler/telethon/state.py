"""What the Telethon collector remembers between sweeps: the entity cache and flood waits.

Entities (username -> id, access hash) are resolved once and reused, so a sweep spends no
ResolveUsername request on a channel or bot it has seen; a FloodWait longer than the
threshold becomes a not-before time, on the channel's cursor (`cursors.not_before`, source
telethon) or account-wide for one kind of request (`telethon_waits`), which later sweeps honour.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from store.records import now
from store.sqlite import Store

SOURCE = "telethon"


@dataclass(slots=True)
class CachedEntity:
    username: str
    peer_id: int | None
    kind: str  # channel, group, bot, user, not_found, invalid
    access_hash: int | None
    resolved_at: str
    full_at: str | None
    profile: dict[str, Any] | None
    error: str | None


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def older_than(value: str | None, hours: float, at: datetime | None = None) -> bool:
    """True when `value` (ISO) is missing or more than `hours` before `at` (now)."""
    stamp = _utc(value)
    return stamp is None or stamp < (at or datetime.now(timezone.utc)) - timedelta(hours=hours)


def in_future(value: str | None, at: datetime | None = None) -> bool:
    stamp = _utc(value)
    return stamp is not None and stamp > (at or datetime.now(timezone.utc))


def until(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


async def cached_entity(store: Store, username: str) -> CachedEntity | None:
    row = await store.fetchone(
        "SELECT username, peer_id, kind, access_hash, resolved_at, full_at, profile, error "
        "FROM telethon_entities WHERE username=?", (username.lower(),))
    if row is None:
        return None
    return CachedEntity(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]) if row[6] else None, row[7])


async def cache_entities(store: Store, entries: list[tuple[str, int | None, str, int | None, str | None]]) -> None:
    """(username, peer id, kind, access hash, error) rows; an id or hash already known is kept if none is given."""
    if not entries:
        return
    t = now()
    async with store.transaction() as db:
        await db.executemany(
            """INSERT INTO telethon_entities(username, peer_id, kind, access_hash, resolved_at, error)
               VALUES (?,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET
                 peer_id=coalesce(excluded.peer_id, peer_id), kind=excluded.kind,
                 access_hash=coalesce(excluded.access_hash, access_hash), resolved_at=excluded.resolved_at,
                 error=excluded.error""",
            [(u.lower(), pid, kind, ah, t, err) for u, pid, kind, ah, err in entries])


async def forget_access_hash(store: Store, username: str) -> None:
    async with store.transaction() as db:
        await db.execute("UPDATE telethon_entities SET access_hash=NULL WHERE username=?", (username,))


async def account_waits(store: Store) -> dict[str, str]:
    """Account-wide waits in force: request kind -> until."""
    rows = await store.fetchall("SELECT scope, until FROM telethon_waits")
    return {r[0].removeprefix("account:"): r[1] for r in rows if in_future(r[1])}


async def record_account_wait(store: Store, kind: str, seconds: int, request: str) -> str:
    at = until(seconds)
    async with store.transaction() as db:
        await db.execute(
            """INSERT INTO telethon_waits(scope, until, seconds, request, recorded_at) VALUES (?,?,?,?,?)
               ON CONFLICT(scope) DO UPDATE SET until=excluded.until, seconds=excluded.seconds,
                 request=excluded.request, recorded_at=excluded.recorded_at""",
            (f"account:{kind}", at, seconds, request, now()))
    return at


async def channel_wait(store: Store, channel: str) -> str | None:
    row = await store.fetchone("SELECT not_before FROM cursors WHERE channel=? AND source=?", (channel, SOURCE))
    return row[0] if row and in_future(row[0]) else None


async def record_channel_wait(store: Store, channel: str, seconds: int) -> str:
    """The channel's telethon cursor gets a not-before time; its position is untouched."""
    at = until(seconds)
    async with store.transaction() as db:
        await db.execute(
            """INSERT INTO cursors(channel, source, not_before, updated_at) VALUES (?,?,?,?)
               ON CONFLICT(channel, source) DO UPDATE SET not_before=excluded.not_before,
                 updated_at=excluded.updated_at""", (channel, SOURCE, at, now()))
    return at

