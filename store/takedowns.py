"""The takedowns interface: what `tgsweep takedown check|list` and `status` read and write."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from store.collection import CollectionStore
from store.escalations import EscalationsStore
from store.records import Capture


class TakedownsStore(EscalationsStore, CollectionStore, Protocol):
    """Re-checks of escalated posts (and the escalations and posts they come from)."""

    async def checked_urls(self) -> list[Any]:
        """Every post URL checked before (url, channel, post_id, subject)."""

    async def record_takedown_check(self, url: str, channel: str, post_id: int,
                                    plan: Callable[[dict[str, Any] | None, str | None], dict[str, Any]],
                                    capture: Capture | None) -> dict[str, Any]:
        """One check, in one transaction: `plan` gets the URL's row (or None) and the post's first_seen and
        returns the new row; a definite answer's capture is kept with its custody entry."""

    async def takedown_rows(self) -> list[dict[str, Any]]:
        """Every checked URL's row, by channel and post."""
