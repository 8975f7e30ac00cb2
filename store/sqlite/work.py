"""SQL of the store, distributed mode's dispatch marks (store/work.py)."""
from __future__ import annotations

from typing import Any

from store.sqlite.database import Database


class WorkSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def dispatch_marks(self, source: str) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.fetchall(
            "SELECT channel, deferred_at FROM dispatch_marks WHERE source=?", (source,))}

    async def mark_dispatched(self, source: str, channels: list[str], at: str) -> None:
        if not channels:
            return
        async with self.transaction() as tx:
            await tx.executemany(
                "INSERT INTO dispatch_marks(source, channel, deferred_at) VALUES (?,?,?) "
                "ON CONFLICT(source, channel) DO UPDATE SET deferred_at=excluded.deferred_at",
                [(source, c, at) for c in channels])

    async def forget_dispatched(self, source: str, channels: list[str]) -> None:
        if not channels:
            return
        async with self.transaction() as tx:
            await tx.executemany("DELETE FROM dispatch_marks WHERE source=? AND channel=?", [(source, c) for c in channels])

    async def lease_states(self) -> list[dict[str, Any]]:
        """Each Telethon account's newest lease event (`tgsweep status`)."""
        return [dict(zip(("account", "holder", "event", "at"), r)) for r in await self.fetchall(
            "SELECT account, holder, event, at FROM lease_log l "
            "WHERE id = (SELECT max(id) FROM lease_log m WHERE m.account = l.account) ORDER BY account")]
