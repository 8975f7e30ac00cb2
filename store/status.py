"""The status interface: read models of `tgsweep status`, `verify`, `init` and the demo's summary."""
from __future__ import annotations

from typing import Any, Protocol


class StatusReadModel(Protocol):
    """What the shell reads to report on the store and to re-derive its records."""

    async def cursor_rows(self) -> list[dict[str, Any]]:
        """Every channel's cursor per source (position, unfinished interval, flood wait, last success and error)."""

    async def alert_states(self) -> dict[str, dict[str, Any]]:
        """Alerts per state: how many, and the oldest."""

    async def errors_since(self, since: str, limit: int) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Recorded errors since `since`: counts per kind, and the newest `limit`."""

    async def recent_sweeps(self, limit: int) -> list[Any]:
        """The newest sweeps (id, source, started_at, finished_at, status, stats JSON)."""

    async def watched_count(self) -> int:
        """Channels on the database's watchlist."""

    async def schema_version(self) -> int:
        """The schema version the database is at."""

    async def integrity_check(self) -> str:
        """SQLite's own integrity check ("ok" when sound)."""

    async def post_version_rows(self) -> list[Any]:
        """Every post version read from a capture (not deletions), by post and version."""

    async def post_rows(self) -> list[tuple[str, int, str, str]]:
        """(channel, id, text, capture sha256) of every post."""

    async def capture_kind_url(self, digest: str) -> tuple[str, str] | None:
        """A raw capture's kind and URL."""

    async def media_custody_check(self) -> tuple[set[str], set[str], list[tuple[str, int, int, str]]]:
        """Files with a custody entry, files the store has, and every (channel, post, position, sha256) item."""

    async def scored_bots(self) -> dict[str, Any]:
        """Every scored bot's label, automatic label and score."""

    async def custody_hash(self, seq: int) -> str | None:
        """The hash of custody entry `seq`."""

    async def custody_head_entry(self) -> tuple[int, str, str] | None:
        """The newest custody entry: seq, hash, when."""

    async def demo_summary_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """What the demo's summary prints: bots, verdicts, mirrors, bank matches, repost clusters."""
