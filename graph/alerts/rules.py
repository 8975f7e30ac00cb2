"""Alert rules: what deserves an alert to the case system, written in the transaction of its cause.

Each rule reads what its stage has just written (inside the same transaction `tx`, a
`Store.transaction()` writer) and puts one alert per finding into the outbox
(graph/alerts/outbox.py). The key of an alert names its cause, so a finding seen again by a later
run is not a second alert: every rule fires once per cause, however often the stage runs.

The rules (turned on and off with `[alerts] rules`):

- bank_match: a collected file matches a hash bank at `[alerts] min_bank_tier` or better;
  one alert per (bank, file), subject `media:<cluster>`.
- deepfake_bot: a bot's effective label (an analyst's override winning) is deepfake_generator;
  one alert per bot, subject `bot:<username>`.
- mirror: a bot is found to replace another; one alert per (new bot, predecessor), subject
  `bot:<new bot>`; with `mirror_flagged_only`, only when one of the two is labelled
  deepfake_generator (fired when that becomes true).
- escalation: written by the graph stage (graph/escalation.py) with `enqueue_alert`.

Evidence names posts by URL (https://t.me/<channel>/<id>), files by hash: never media bytes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from graph.alerts.outbox import ALERT_TYPES, alert_id, enqueue_alert

TIER_ORDER = ("near-certain", "match", "weak lead")  # best first
BANK_SEVERITY = {"near-certain": "high", "match": "medium", "weak lead": "low"}
MAX_POSTS = 50  # post URLs listed in one alert's evidence (the total is given beside them)
_POST_REF = re.compile(r"\b([A-Za-z][A-Za-z0-9_]{1,31})/(\d+)\b")


def post_refs(text: str) -> list[tuple[str, int]]:
    """The posts ("channel/id") a mirror's evidence text names (graph/build.py reads them too)."""
    return [(c, int(i)) for c, i in _POST_REF.findall(text or "")]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """The `[alerts]` settings the rules need (tgsweep.config.Alerts has them all)."""

    rules: frozenset[str] = frozenset(ALERT_TYPES)
    min_bank_tier: str = "match"
    mirror_flagged_only: bool = True

    def enabled(self, alert_type: str) -> bool:
        return alert_type in self.rules


def alert_settings(config: Any) -> AlertSettings:
    """From a Config (or anything with an `alerts` section); the defaults without one."""
    section = getattr(config, "alerts", None)
    if section is None:
        return AlertSettings()
    return AlertSettings(frozenset(section.rules), section.min_bank_tier, section.mirror_flagged_only)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as a rule builds it (pure), before it goes to the outbox."""

    type: str
    subject: str
    severity: str
    reasons: list[str]
    evidence: dict[str, Any]
    key: str = field(default="")


def post_url(channel: str, post_id: int) -> str:
    return f"https://t.me/{channel}/{post_id}"


def _posts(refs: list[tuple[str, int]]) -> dict[str, Any]:
    ordered = sorted(set(refs))
    return {"posts": [post_url(c, i) for c, i in ordered[:MAX_POSTS]], "posts_total": len(ordered)}


# -- pure builders --------------------------------------------------------------------------------

def bank_match_alert(sha256: str, md5: str | None, cluster: str | None, matches: list[dict[str, Any]],
                     appearances: list[tuple[str, int]], min_tier: str = "match") -> Alert | None:
    """One file's matches against one bank -> an alert, or None when every match is below min_tier."""
    limit = TIER_ORDER.index(min_tier)
    kept = [m for m in matches if TIER_ORDER.index(m["tier"]) <= limit]
    if not kept:
        return None
    kept.sort(key=lambda m: (TIER_ORDER.index(m["tier"]), m["distance"], m["hash_type"]))
    best = kept[0]
    bank = best["bank"]
    where = _posts(appearances)
    reasons = [f"file sha256 {sha256[:16]} matches bank {bank!r}"
               + (f" ({best['label']})" if best["label"] else "")
               + f": {best['hash_type']} distance {best['distance']}, tier {best['tier']} (via {best['via']})"]
    reasons += [f"also {m['hash_type']} distance {m['distance']}, tier {m['tier']} (via {m['via']})" for m in kept[1:]]
    if where["posts_total"]:
        shown = ", ".join(u.removeprefix("https://t.me/") for u in where["posts"][:5])
        reasons.append(f"seen in {where['posts_total']} post(s): {shown}"
                       + (" ..." if where["posts_total"] > 5 else ""))
    else:
        reasons.append("not (yet) tied to a collected post")
    evidence = {"sha256": sha256, "md5": md5, "cluster": cluster, "bank": bank, "tier": best["tier"],
                "distance": best["distance"], "hash_type": best["hash_type"],
                "matches": [{k: m[k] for k in ("bank", "label", "hash_type", "hash", "distance", "tier", "via")}
                            for m in kept]} | where
    return Alert("bank_match", f"media:{cluster or sha256[:16]}", BANK_SEVERITY[best["tier"]], reasons, evidence,
                 f"{bank}:{sha256}")


def deepfake_bot_alert(username: str, score: float | None, auto_label: str | None, reasons: list[str],
                       promotions: list[tuple[str, int]]) -> Alert:
    """A bot labelled deepfake_generator -> an alert with its verdict's reasons and where it is promoted."""
    shown = list(reasons) or ["labelled deepfake_generator"]
    evidence = {"bot": username, "url": f"https://t.me/{username}", "label": "deepfake_generator",
                "auto_label": auto_label, "score": score} | _posts(promotions)
    return Alert("deepfake_bot", f"bot:{username}", "high", shown, evidence, username)


def mirror_alert(bot: str, predecessor: str, links: list[tuple[str, str]], labels: dict[str, str | None],
                 flagged_only: bool = True) -> Alert | None:
    """`bot` replaces `predecessor` (links: (kind, evidence)) -> an alert, or None if neither is flagged."""
    flagged = [b for b in (bot, predecessor) if labels.get(b) == "deepfake_generator"]
    if flagged_only and not flagged:
        return None
    refs = [ref for _, text in links for ref in post_refs(text)]
    reasons = [f"@{bot} replaces @{predecessor}: {text}" for _, text in links]
    reasons += [f"@{b} is labelled deepfake_generator" for b in flagged]
    evidence = {"bot": bot, "predecessor": predecessor, "url": f"https://t.me/{bot}",
                "labels": {bot: labels.get(bot) or "unknown", predecessor: labels.get(predecessor) or "unknown"},
                "links": [{"kind": k, "evidence": t} for k, t in links]} | _posts(refs)
    return Alert("mirror", f"bot:{bot}", "high" if flagged else "medium", reasons, evidence, f"{bot}:{predecessor}")


# -- rules inside the cause's transaction ---------------------------------------------------------

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
        rows = await tx.execute_fetchall(f"SELECT id FROM alerts WHERE id IN ({','.join('?' * len(chunk))})", chunk)
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
