"""The audit interface: case notes and the record of who revealed, decided or exported what, and when."""
from __future__ import annotations

from typing import Any, Protocol


class AuditLog(Protocol):
    """Append-only: an entry is never changed or removed (a note is corrected by a newer note)."""

    async def record_audit(self, who: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> int:
        """Append one entry (action: note, reveal, decision, export) about `subject` (a node id such as
        `bot:name`, `channel:name`, `media:<cluster>` or `file:<sha256>`); returns its id."""

    async def audit_entries(self, subject: str, limit: int) -> list[dict[str, Any]]:
        """The subject's entries, newest first: id, at, who, action, subject, detail (a dict)."""
