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

    async def media_without_crops(self, limit: int) -> list[Any]:
        """Kept pictures fingerprinted before crop hypotheses existed (sha256, path), oldest first, at most `limit`."""

    async def save_crops(self, rows: list[tuple[bytes, str]]) -> None:
        """(pdq_crops, sha256) rows, one transaction (an empty value: computed, none)."""

    async def pair_checks(self) -> dict[tuple[str, str], bool]:
        """Every (sha256 a, sha256 b) pair compared on its pixels, a < b: the same source or not."""

    async def save_pair_checks(self, rows: list[tuple[str, str, int, str, str]]) -> None:
        """(a, b, same, reason, checked_at) rows, one transaction."""

    async def media_to_fingerprint(self) -> list[Any]:
        """Files never fingerprinted (sha256, path, mime), oldest first."""

    async def fingerprinted_media(self) -> list[Any]:
        """Fingerprinted files (sha256, pdq, pdq_quality, pdq_alt, pdq_lookup, pdq_crops, path, cluster), oldest first."""

    async def media_appearances(self) -> list[tuple[str, str, int, str | None]]:
        """(sha256, channel, post id, post date) of every appearance of a file or a thumbnail."""

    async def replace_clusters(self, members: list[tuple[str, str]], clusters: list[tuple]) -> None:
        """Rewrite every file's (cluster, sha256) and every media_clusters row, in one transaction."""
