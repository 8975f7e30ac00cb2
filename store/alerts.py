"""Alerts, pure: what deserves an alert to the case system (the rules' builders), their ids and settings.

The rules' queries run in the transaction of their cause (store/sqlite/alerts.py):

Each rule reads what its stage has just written (inside the same transaction `tx`, a
`Store.transaction()` writer) and puts one alert per finding into the outbox
(store/sqlite/alerts.py). The key of an alert names its cause, so a finding seen again by a later
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

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from tgsweep.config import Alerts, default

ALERT_TYPES = ("bank_match", "deepfake_bot", "mirror", "escalation")
SEVERITIES = ("low", "medium", "high", "critical")

def alert_id(alert_type: str, key: str) -> str:
    """Stable id (the webhook-id) from what the alert is about, so a re-run never makes a second one."""
    return "alrt_" + hashlib.sha256(f"{alert_type}\x00{key}".encode()).hexdigest()[:32]


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

    rules: frozenset[str] = frozenset(default(Alerts, "rules"))
    min_bank_tier: str = default(Alerts, "min_bank_tier")
    mirror_flagged_only: bool = default(Alerts, "mirror_flagged_only")

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


def delivery_state(rows: list[Any], sinks: list[str]) -> dict[str, Any]:
    """alerts.state and friends from the alert's delivery rows of the configured sinks."""
    by_sink = {r["sink"]: r for r in rows if r["sink"] in sinks}
    states = [by_sink[s]["state"] if s in by_sink else "pending" for s in sinks]
    if not sinks or "pending" in states:
        state = "pending"
    elif all(s == "delivered" for s in states):
        state = "delivered"
    else:
        state = "dead"
    pending = [r["next_attempt_at"] for r in by_sink.values() if r["state"] == "pending" and r["next_attempt_at"]]
    errors = [r for r in by_sink.values() if r["last_error"] and r["state"] != "delivered"]
    delivered = [r["delivered_at"] for r in by_sink.values() if r["delivered_at"]]
    return {"state": state, "attempts": sum(r["attempts"] for r in by_sink.values()),
            "next_attempt_at": min(pending) if pending else None,
            "last_error": "; ".join(f"{r['sink']}: {r['last_error']}" for r in errors)[:1000] or None,
            "delivered_at": max(delivered) if state == "delivered" and delivered else None}
