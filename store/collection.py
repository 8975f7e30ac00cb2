"""The collection interface: what both collectors (crawler/web, crawler/telethon) read and write."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

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
)


class CollectionStore(Protocol):
    """What the collectors read and write: sweeps, the watchlist, cursors, pages, captures, entity pages, media items."""

    async def start_sweep(self, source: str) -> int:
        """A new sweep, `running` under this process; sweeps whose process died are closed as `killed` first."""

    async def finish_sweep(self, sweep_id: int, status: str, stats: dict[str, Any]) -> None:
        """Close a sweep with its status and summary stats."""

    async def record_error(self, sweep_id: int | None, kind: str, message: str,
                           channel: str | None = None, url: str | None = None) -> None:
        """A recorded failure of a sweep (sweep_errors), noted on the channel's cursor."""

    async def watch(self, usernames: list[str]) -> None:
        """Mark the watchlist (depth 0) in the store; channels removed with `watch remove` stay removed."""

    async def set_watched(self, username: str, watched: bool, provenance: str | None = None) -> None:
        """`tgsweep watch add|remove|import`: on the watchlist (depth 0), or removed (overrides the config file);
        `provenance` (where an imported name came from) kept in channels.discovered_from unless it has one."""

    async def watchlist(self, configured: list[str]) -> list[dict[str, Any]]:
        """The effective watchlist and where each name comes from: (config ∪ watched=1) minus removed."""

    async def channel_names(self) -> set[str]:
        """Every channel name the store has seen (for "did you mean")."""

    async def removed_channels(self) -> set[str]:
        """Channels removed with `watch remove`: never swept, whatever the config says."""

    async def last_successes(self, source: str) -> dict[str, str]:
        """When each channel was last swept to the end from `source` (ISO 8601, UTC): what makes it due."""

    async def watched_channels(self) -> list[str]:
        """Channels on the database's watchlist (`watch add`, or once swept from the config), by name."""

    async def discovered_channels(self, max_depth: int) -> list[str]:
        """Public channels discovery found within max_depth hops that are on no watchlist, nearest first."""

    async def channel_depth(self, username: str) -> int | None:
        """Hops from the watchlist at which the channel was found (0: watched)."""

    async def bots_profiled_before(self, cutoff: str, limit: int) -> list[str]:
        """Bots whose public profile was read before `cutoff` (or never), oldest first."""

    async def count_unknown(self, usernames: list[str]) -> int:
        """How many of these names t.me no longer knows (kind unknown)."""

    async def sweep_outcome(self, sweep_ids: list[int]) -> tuple[list[str], list[dict[str, Any]]]:
        """The sweeps' statuses (newest first) and their recorded errors, in order."""

    async def discovered(self, username: str, depth: int, discovered_from: str) -> None:
        """A channel found by discovery, with its depth and what it was found from."""

    async def get_cursor(self, channel: str, source: str = "web") -> Cursor:
        """Where the channel's collection stands for this source."""

    async def mark_channel_done(self, channel: str, source: str = "web") -> None:
        """A channel swept to the end without new pages (empty feed, no preview): note the success."""

    async def capture(self, capture: Capture, sweep_id: int | None) -> str:
        """Keep one raw capture unaltered with its custody entry; inside `transaction()`."""

    async def read_capture(self, digest: str) -> bytes:
        """A raw capture's original bytes."""

    async def warc_files_recorded(self) -> dict[str, str]:
        """WARC files the custody chain holds: name -> SHA-256 (custody action `warc`)."""

    async def record_warc_files(self, files: list[tuple[str, str, int]], sweep_id: int | None) -> None:
        """Enter closed WARC files (name, SHA-256, records) in the custody chain, one entry each, in one
        transaction."""

    async def ingest_page(self, sweep_id: int | None, channel: str, info: ChannelInfo | None, posts: list[Post],
                          capture: Capture, cursor: Cursor, done: bool, source: str = "web",
                          pending_too: bool = False, limits: PostLimits | None = None) -> Ingested:
        """Store one page: capture, custody entry, header, posts and their versions, refs, cursor; one transaction."""

    async def pending_bot_profiles(self, limit: int) -> list[str]:
        """Bots referenced but never profiled (a sweep killed before it read them), oldest first."""

    async def record_deleted(self, sweep_id: int | None, channel: str, post_id: int, capture_sha256: str | None,
                             source: str) -> bool:
        """A post found gone (a takedown re-check): kept as a `deleted` version; the post itself stays."""

    async def record_entity(self, sweep_id: int | None, entity: EntityPage, capture: Capture) -> None:
        """An entity page (t.me/<name>): what the name is; bots get their public profile."""

    async def store_media(self, sweep_id: int | None, channel: str, post_id: int, position: int, url: str,
                          media: StoredMedia | None, error: str | None, role: str = "main") -> None:
        """Record a fetched media file (or why it failed) on its appearance; custody-logs the bytes."""

    async def verify(self, media_dir: Path | None = None) -> VerifyReport:
        """Recompute the custody chain and every capture's (and kept media file's) SHA-256."""
