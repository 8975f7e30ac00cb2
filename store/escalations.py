"""The escalations interface: what the graph stage's escalation (graph/escalation.py) reads and writes."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from store.alerts import Alert


class EscalationsStore(Protocol):
    """Escalation scores, their alerts, and the posts behind escalated subjects."""

    async def automation_score_rows(self) -> list[tuple[str, float, str]]:
        """(subject, score, reasons JSON) of every automation score (none before the table exists)."""

    async def save_escalations(self, plan: Callable[[dict[str, str | None]], tuple[list[tuple], list[Alert]]]) -> int:
        """In one transaction: give `plan` when each subject was first escalated, write the rows it returns
        and queue the escalation alerts it returns (once per id); returns the alerts queued."""

    async def escalation_rows(self, min_score: float | None = None, threshold: float | None = None) -> list[Any]:
        """Escalations, highest first: scoring at least min_score; else escalated (escalated_at set) when
        threshold is None, or scoring at least threshold."""

    async def subject_posts(self, kind: str, name: str, promotion_kinds: tuple[str, ...]) -> list[tuple[str, int]]:
        """(channel, post id) behind a subject: a channel's posts promoting a suspect bot or carrying a file
        matching a bank, a bot's promotions, a media cluster's appearances; sorted."""

    async def post_dates(self, channel: str, post_id: int) -> tuple[str | None, str | None]:
        """The post's date and when it was first collected."""

    async def post_files(self, channel: str, post_id: int) -> list[str]:
        """SHA-256 of the post's files, by position."""
