"""The graph source interface: what graph/build.py reads (the append-only sources incrementally, the
rest whole) and what graph/exports.py streams out."""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Protocol


class AppendOnlyReader(Protocol):
    """One consistent read of the append-only sources (references, forwards, signatures)."""

    def sources(self) -> list[str]:
        """The sources' names: channel_refs, bot_refs, hidden_forwards, signatures."""

    def top(self, source: str) -> int:
        """The highest row number of the source at the time of this read (the watermark)."""

    def count_upto(self, source: str, mark: int) -> int:
        """How many of the source's rows lie at or below `mark` (a snapshot is valid when unchanged)."""

    def rows(self, source: str, since: int) -> Iterator[tuple]:
        """The source's rows after `since` up to its top, in row order, read ahead in a helper thread."""


class GraphSource(Protocol):
    """What the graph is built from."""

    path: Path

    def append_only_read(self) -> AbstractContextManager[AppendOnlyReader]:
        """One consistent read on a connection of its own (the build runs it in a worker thread)."""

    async def graph_volatile_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """What other stages rewrite whole: bank_matches, posted, mirrors, bots, channels, clusters, escalations."""


class ExportsStore(Protocol):
    """What `tgsweep export messages` streams."""

    async def post_channels(self) -> list[str]:
        """Every channel with stored posts, by name."""

    async def channel_bank_matches(self, channel: str) -> list[tuple[Any, ...]]:
        """(sha256, bank, label, distance, hash type, tier) of the channel's files that match a bank."""

    async def channel_media_rows(self, channel: str) -> list[Any]:
        """The channel's media items with their file's hashes and cluster, by post and position."""

    async def channel_bot_refs(self, channel: str) -> list[tuple[int, str]]:
        """(post id, bot) references of the channel's posts, in the order they were stored."""

    def channel_post_rows(self, channel: str) -> AsyncIterator[Any]:
        """The channel's posts, oldest first, streamed."""
