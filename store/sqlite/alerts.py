"""The alert outbox and the alert rules' queries, inside the transaction of each alert's cause.

Why an outbox: the case system must get every alert exactly once per id, even if the process
dies between "detected" and "delivered". The alert row commits with its cause or not at all;
delivery (graph/alerts/) reads the outbox later and retries until each sink has it. Each rule
reads what its stage has just written (in the same transaction `tx`) and builds its alerts with
the pure builders of store/alerts.py.
"""
from __future__ import annotations

import json
from typing import Any

from store.alerts import (
    ALERT_TYPES,
    SEVERITIES,
    Alert,
    AlertSettings,
    alert_id,
    bank_match_alert,
    deepfake_bot_alert,
    mirror_alert,
)
from store.records import now
from store.sqlite.database import marks


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
        "INSERT INTO alerts (id, type, subject, severity, created_at, payload) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT DO NOTHING",
        (ident, alert_type, subject, severity, created, json.dumps(body, ensure_ascii=False, sort_keys=True)))
    return cur.rowcount == 1


async def _enqueue(tx: Any, alert: Alert) -> bool:
    return await enqueue_alert(tx, alert.type, alert.subject, alert.severity, alert.reasons, alert.evidence,
                               alert.key)


async def _existing(tx: Any, alert_type: str, keys: list[str]) -> set[str]:
    """The keys whose alert is already in the outbox (so their evidence is not gathered again)."""
    ids = {alert_id(alert_type, k): k for k in keys}
    found: set[str] = set()
    items = list(ids)
    for start in range(0, len(items), 500):
        chunk = items[start:start + 500]
        rows = await tx.execute_fetchall(f"SELECT id FROM alerts WHERE id IN ({marks(chunk)})", chunk)
        found |= {ids[r[0]] for r in rows}
    return found


async def _appearances(tx: Any, sha256: str) -> list[tuple[str, int]]:
    rows = await tx.execute_fetchall(
        "SELECT channel, post_id FROM media_items WHERE sha256=? OR thumb_sha256=?", (sha256, sha256))
    return [(r[0], r[1]) for r in rows]


async def bank_match_rule(tx: Any, settings: AlertSettings) -> int:
    """After bank_matches is written: one alert per (bank, file) matched at min_bank_tier or better."""
    if not settings.enabled("bank_match"):
        return 0
    rows = await tx.execute_fetchall(
        """SELECT b.sha256, b.bank, b.hash_type, b.hash, b.label, b.distance, b.tier, b.via, m.md5, m.cluster
           FROM bank_matches b LEFT JOIN media m ON m.sha256 = b.sha256 ORDER BY b.sha256, b.bank""")
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r["bank"], r["sha256"]), []).append(r)
    done = await _existing(tx, "bank_match", [f"{bank}:{sha}" for bank, sha in groups])
    added = 0
    for (bank, sha), group in groups.items():
        if f"{bank}:{sha}" in done:
            continue
        matches = [dict(r) for r in group]
        alert = bank_match_alert(sha, group[0]["md5"], group[0]["cluster"], matches, await _appearances(tx, sha),
                                 settings.min_bank_tier)
        if alert is not None and await _enqueue(tx, alert):
            added += 1
    return added


async def deepfake_bot_rule(tx: Any, settings: AlertSettings) -> int:
    """After bot labels are written: one alert per bot whose effective label is deepfake_generator."""
    if not settings.enabled("deepfake_bot"):
        return 0
    rows = await tx.execute_fetchall(
        "SELECT username, score, auto_label, reasons FROM bots WHERE label='deepfake_generator' ORDER BY username")
    done = await _existing(tx, "deepfake_bot", [r["username"] for r in rows])
    added = 0
    for r in rows:
        if r["username"] in done:
            continue
        promotions = await tx.execute_fetchall(
            "SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?", (r["username"],))
        reasons = json.loads(r["reasons"]) if r["reasons"] else []
        decided = await tx.execute_fetchall(
            "SELECT label, note, decided_by, decided_at FROM bot_overrides WHERE username=? ORDER BY id DESC LIMIT 1",
            (r["username"],))
        if decided and not any(x.startswith("analyst override") for x in reasons):
            o = decided[0]
            reasons.insert(0, f"analyst override by {o['decided_by']} at {o['decided_at']}: {o['label']}"
                              + (f" ({o['note']})" if o["note"] else ""))
        alert = deepfake_bot_alert(r["username"], r["score"], r["auto_label"], reasons,
                                   [(p[0], p[1]) for p in promotions])
        if await _enqueue(tx, alert):
            added += 1
    return added


async def mirror_rule(tx: Any, settings: AlertSettings) -> int:
    """After bot_mirrors (and labels) are written: one alert per (new bot, predecessor) worth one."""
    if not settings.enabled("mirror"):
        return 0
    rows = await tx.execute_fetchall(
        """SELECT m.bot, m.predecessor, m.kind, m.evidence, a.label AS bot_label, b.label AS predecessor_label
           FROM bot_mirrors m LEFT JOIN bots a ON a.username = m.bot LEFT JOIN bots b ON b.username = m.predecessor
           ORDER BY m.bot, m.predecessor, m.kind, m.evidence""")
    pairs: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        pairs.setdefault((r["bot"], r["predecessor"]), []).append(r)
    done = await _existing(tx, "mirror", [f"{bot}:{old}" for bot, old in pairs])
    added = 0
    for (bot, old), group in pairs.items():
        if f"{bot}:{old}" in done:
            continue
        labels = {bot: group[0]["bot_label"], old: group[0]["predecessor_label"]}
        alert = mirror_alert(bot, old, [(r["kind"], r["evidence"]) for r in group], labels,
                             settings.mirror_flagged_only)
        if alert is not None and await _enqueue(tx, alert):
            added += 1
    return added
