"""The media interface: what the media stage (detectors/media) reads and writes; the banks' part is
store/banks.py."""
from __future__ import annotations

from typing import Any, Protocol

from store.banks import BanksStore


class MediaStore(BanksStore, Protocol):
    """Fingerprints of collected files, repost clusters, and (through BanksStore) bank matches."""

    async def save_fingerprint_rows(self, rows: list[tuple]) -> None:
        """(pdq, pdq_quality, phash, pdq_alt, pdq_lookup, frames, pdq_crops, error, fingerprinted_at, sha256) rows,
        one transaction."""

    async def media_to_fingerprint(self) -> list[Any]:
        """Files never fingerprinted (sha256, path, mime), oldest first."""

    async def fingerprinted_media(self) -> list[Any]:
        """Fingerprinted files (sha256, pdq, pdq_quality, pdq_alt, pdq_lookup, pdq_crops, path, cluster), oldest first."""

    async def media_appearances(self) -> list[tuple[str, str, int, str | None]]:
        """(sha256, channel, post id, post date) of every appearance of a file or a thumbnail."""

    async def replace_clusters(self, members: list[tuple[str, str]], clusters: list[tuple]) -> None:
        """Rewrite every file's (cluster, sha256) and every media_clusters row, in one transaction."""
