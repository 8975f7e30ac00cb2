"""SQL of the store, takedown checks: is escalated content still up (store/takedowns.py)."""
from __future__ import annotations

from typing import Any, Callable

from store.records import Capture
from store.sqlite.collection import CollectionSQL

_FIELDS = ("url", "channel", "post_id", "subject", "escalated_at", "post_first_seen", "first_checked_at",
           "last_checked_at", "last_seen_up_at", "taken_down_at", "checks", "last_status", "last_detail",
           "capture_sha256")


class TakedownsSQL(CollectionSQL):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def checked_urls(self) -> list[Any]:
        return await self.fetchall("SELECT url, channel, post_id, subject FROM takedown_checks")

    async def record_takedown_check(self, url: str, channel: str, post_id: int,
                                    plan: Callable[[dict[str, Any] | None, str | None], dict[str, Any]],
                                    capture: Capture | None) -> dict[str, Any]:
        async with self.transaction() as tx:
            rows = await tx.execute_fetchall("SELECT * FROM takedown_checks WHERE url=?", (url,))
            first_seen = await tx.execute_fetchall("SELECT first_seen FROM posts WHERE channel=? AND id=?",
                                                   (channel, post_id))
            state = plan(dict(rows[0]) if rows else None, first_seen[0][0] if first_seen else None)
            if capture is not None:
                state["capture_sha256"] = await self.capture(capture, None)
            await tx.execute(f"INSERT INTO takedown_checks({', '.join(_FIELDS)}) "
                             f"VALUES ({', '.join('?' * len(_FIELDS))}) ON CONFLICT(url) DO UPDATE SET "
                             + ", ".join(f"{f}=excluded.{f}" for f in _FIELDS if f != "url"),
                             [state.get(f) for f in _FIELDS])
        return state

    async def takedown_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.fetchall("SELECT * FROM takedown_checks ORDER BY channel, post_id")]
