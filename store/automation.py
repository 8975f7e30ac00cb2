"""The automation interface: what the automation stage (detectors/automation) reads and writes."""
from __future__ import annotations

from typing import Any, Protocol


class AutomationStore(Protocol):
    """Post samples in, automation scores out."""

    async def automation_samples(self, max_posts: int) -> list[tuple[Any, ...]]:
        """The newest max_posts non-service posts of every channel: (channel, id, date, text, views,
        forwarded, links, bots named (comma-joined), author signature, sender id or None)."""

    async def channel_counters(self) -> list[tuple[str, str]]:
        """(username, counters JSON) of channels whose counters are known (subscribers)."""

    async def replace_automation_scores(self, rows: list[tuple[str, str, float, str, str, str]]) -> None:
        """Rewrite every (subject, kind, score, reasons, features, computed_at) score, in one transaction."""

    async def automation_rows(self, min_score: float = 0.0, kind: str | None = None,
                              subject: str | None = None) -> list[Any]:
        """Stored scores at or above min_score, highest first (of one kind, or one subject)."""
