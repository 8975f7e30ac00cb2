"""The evidence interface: what evidence bundles and takedown lists (graph/evidence, graph/takedown) read."""
from __future__ import annotations

from typing import Any, Protocol

from store.escalations import EscalationsStore
from store.graph import ExportsStore


class EvidenceStore(ExportsStore, EscalationsStore, Protocol):
    """A subject's posts (as exported), captures, files, custody entries, matches and escalations."""

    async def known_as_bot(self, name: str) -> bool:
        """Whether a bare name is a bot the store knows (not one known to be something else)."""

    async def subject_exists(self, kind: str, name: str) -> bool:
        """Whether the store holds anything about the subject (posts, a profile, a cluster)."""

    async def subject_post_keys(self, kind: str, name: str) -> set[tuple[str, int]]:
        """(channel, post id) of a bot's references or a media cluster's appearances."""

    async def entity_page_captures(self, name: str) -> list[tuple[str, str]]:
        """(sha256, url) of captured entity pages whose URL ends with the name."""

    async def subject_profile(self, kind: str, name: str) -> dict[str, Any]:
        """The bot's, channel's or cluster's stored profile row ({} if none)."""

    async def takedown_captures(self) -> list[tuple[str, int, str]]:
        """(channel, post id, capture sha256) of every definite takedown re-check."""

    async def capture_meta(self, digest: str) -> dict[str, Any] | None:
        """A raw capture's sha256, kind, url, size and when it was first fetched."""

    async def read_capture(self, digest: str) -> bytes:
        """A raw capture's original bytes."""

    async def cluster_files(self, cluster: str) -> set[str]:
        """SHA-256 of every file in a repost cluster."""

    async def media_file(self, digest: str) -> dict[str, Any] | None:
        """A file's hashes, size, type, kept path and cluster."""

    async def custody_entries(self, digests: list[str]) -> list[dict[str, Any]]:
        """The custody entries of these captures and files, in chain order."""

    async def custody_head(self) -> dict[str, Any]:
        """The newest custody entry's seq and hash."""

    async def file_bank_matches(self, digest: str) -> list[dict[str, Any]]:
        """A file's bank matches."""

    async def first_seen(self, kind: str, name: str) -> str | None:
        """When a bot (kind bot) or channel was first seen."""

    async def bot_listing(self) -> tuple[list[Any], list[Any]]:
        """Every bot with its verdicts and reference counts, and every mirror link (store/bots.py)."""

    async def bot_overrides(self) -> dict[str, dict[str, Any]]:
        """The newest analyst decision per bot (store/bots.py)."""
