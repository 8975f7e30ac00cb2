"""SQL of the store, audit: case notes and the record of reveals, decisions and exports (store/audit.py)."""
from __future__ import annotations

import json
from typing import Any

from store.records import now
from store.sqlite.database import Database


class AuditSQL(Database):
    """This concern's SQL; store.sqlite.Store mixes every concern into one Database."""

    async def record_audit(self, who: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> int:
        async with self.transaction() as db:
            rows = await db.execute_fetchall(
                "INSERT INTO audit_log(at, who, action, subject, detail) VALUES (?,?,?,?,?) RETURNING id",
                (now(), who, action, subject, json.dumps(detail or {}, sort_keys=True)))
            return int(rows[0][0])

    async def audit_entries(self, subject: str, limit: int) -> list[dict[str, Any]]:
        rows = await self.fetchall("SELECT id, at, who, action, subject, detail FROM audit_log WHERE subject=? "
                                   "ORDER BY id DESC LIMIT ?", (subject, limit))
        return [dict(r) | {"detail": json.loads(r["detail"] or "{}")} for r in rows]
