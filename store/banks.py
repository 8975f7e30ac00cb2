"""The banks interface: hash lists (banks) and the collected files that match them."""
from __future__ import annotations

from typing import Any, Protocol

from store.alerts import AlertSettings


class BanksStore(Protocol):
    """Hash banks, their hashes, and the matches of collected files."""

    async def add_bank_hashes(self, name: str, source: str | None,
                              hashes: list[tuple[str, str, str | None, int | None]]) -> int:
        """(hash type, hash, label, line) hashes added to bank `name` (created if new); returns how many were new."""

    async def bank_rows(self) -> list[tuple[Any, dict[str, int]]]:
        """Each bank (name, source, imported_at, hashes, version, synced_at, etag, matched files) with its
        hash count per type."""

    async def remove_bank(self, name: str) -> bool:
        """Delete a bank with its hashes and matches, and withdraw its bank_match alerts not yet delivered
        (they are never sent), in one transaction; False if there was none."""

    async def sync_bank(self, name: str, source: str | None, version: str,
                        hashes: list[tuple[str, str, str | None, int | None]],
                        etag: str | None = None) -> tuple[int, int, int]:
        """Make bank `name` hold exactly these (hash type, hash, label, line) hashes, in one transaction:
        new ones added, labels updated, the rest withdrawn with their matches, and the undelivered
        alerts of files left with no match in the bank withdrawn; the list's version (its SHA-256), its
        HTTP ETag and the time kept. Returns (added, withdrawn hashes, withdrawn alerts)."""

    async def touch_bank(self, name: str, etag: str | None) -> None:
        """The bank's list was read again and had not changed: record the time (and a new ETag)."""

    async def bank_hashes(self) -> list[tuple[str, str, str, str | None]]:
        """Every (bank, hash type, hash, label)."""

    async def media_hashes(self) -> list[Any]:
        """Every collected file's hashes (sha256, md5, pdq, pdq_quality, phash, pdq_lookup, frames, pdq_crops)."""

    async def replace_bank_matches(self, records: list[tuple], alerts: AlertSettings) -> int:
        """Rewrite bank_matches and raise bank_match alerts for new ones, in one transaction; returns the alerts."""
