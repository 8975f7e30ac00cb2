"""The alert outbox: a rule writes its alert in the same transaction as what caused it.

Why an outbox: the case system must get every alert exactly once per id, even if the process
dies between "detected" and "delivered". The alert row commits with its cause or not at all;
delivery (graph/alerts/sinks.py) reads the outbox later and retries until each sink has it.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from store.records import now

ALERT_TYPES = ("bank_match", "deepfake_bot", "mirror", "escalation")
SEVERITIES = ("low", "medium", "high", "critical")


def alert_id(alert_type: str, key: str) -> str:
    """Stable id (the webhook-id) from what the alert is about, so a re-run never makes a second one."""
    return "alrt_" + hashlib.sha256(f"{alert_type}\x00{key}".encode()).hexdigest()[:32]


async def enqueue_alert(tx: Any, alert_type: str, subject: str, severity: str, reasons: list[str],
                        evidence: dict[str, Any], key: str) -> bool:
    """Insert one alert inside the caller's transaction `tx`; False if this alert (same id) exists.

    `key` names the cause uniquely (e.g. "bank:demo_case:<sha256>" or "bot:undressbot"), so the
    same finding seen again in a later sweep is not a new alert.
    """
    if alert_type not in ALERT_TYPES:
        raise ValueError(f"unknown alert type {alert_type!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    ident = alert_id(alert_type, key)
    created = now()
    body = {"type": alert_type, "id": ident, "created_at": created, "subject": subject,
            "severity": severity, "reasons": list(reasons), "evidence": evidence}
    cur = await tx.execute(
        "INSERT OR IGNORE INTO alerts (id, type, subject, severity, created_at, payload) VALUES (?,?,?,?,?,?)",
        (ident, alert_type, subject, severity, created, json.dumps(body, ensure_ascii=False, sort_keys=True)))
    return cur.rowcount == 1
