"""The detect stage for bots: read profiles and promotions from the store, score, find mirrors, write back.

Re-runnable: every run rescores every bot from what the store holds now. An analyst's override
(bot_overrides) always wins over the automatic label and is never overwritten; the automatic
verdict is still kept beside it (bots.auto_label, score, reasons).
"""
from __future__ import annotations

import json
from typing import Any

from store.refs import AD_KIND
from store.records import now
from store.sqlite import Store
from detectors.bots.classifier import Thresholds, Verdict, score_bot
from detectors.bots.lineage import apply_lineage
from detectors.bots.stream import Promotions, stream_refs
from store.alerts import AlertSettings, alert_settings
from store.sqlite.alerts import deepfake_bot_rule, mirror_rule

LABELS = ("deepfake_generator", "benign")
MAX_BOTS_PER_POST_ASSOCIATION = 10  # a post listing more bots says nothing about any pair of them


def _thresholds(config: Any) -> tuple[Thresholds, int]:
    bots = getattr(config, "bots", None)
    if bots is None:
        return Thresholds(), 50
    return Thresholds(bots.generator_threshold, bots.benign_threshold), bots.max_promotions


async def overrides(store: Store) -> dict[str, dict[str, Any]]:
    """The newest analyst decision per bot."""
    rows = await store.fetchall(
        """SELECT username, label, note, decided_by, decided_at FROM bot_overrides o
           WHERE id = (SELECT max(id) FROM bot_overrides WHERE username = o.username)""")
    return {r["username"]: dict(r) for r in rows}


def profile_of(row: Any) -> dict[str, Any]:
    """A contract bot profile from a bots row (entity page or API profile JSON)."""
    extra: dict[str, Any] = {}
    if row["profile"]:
        try:
            extra = json.loads(row["profile"])
        except ValueError:
            extra = {}
    return {"username": row["username"], "name": row["title"] or extra.get("title") or "",
            "description": row["description"] or extra.get("description") or "",
            "about": extra.get("about") or "", "commands": extra.get("commands") or []}


async def score_all(store: Store, config: Any) -> tuple[list[tuple], dict[str, str], dict[str, int]]:
    """Every bot's verdict from what the store holds now, written nowhere.

    The bot's own words and its promotions (detectors/bots/classifier.py), then its lineage
    (detectors/bots/lineage.py: mirror links, co-promotion), then an analyst's decision over all.
    Returns the `bots` updates (label, auto_label, score, reasons, scored_at, username), each bot's
    profile text (for mirrors) and counts. `detect_bots` writes them; `tgsweep verify` compares.
    """
    thresholds, max_promotions = _thresholds(config)
    bots = await store.fetchall(
        "SELECT username, confirmed, title, description, profile FROM bots WHERE confirmed IS NOT 0")
    # bounded memory: promotions a chunk of bots at a time, mirrors streamed (detectors/bots/stream.py)
    promotions = Promotions(store, [r["username"] for r in bots], max_promotions)
    decided = await overrides(store)
    verdicts: dict[str, Verdict] = {}
    profiles: dict[str, str] = {}
    for row in bots:
        profile = profile_of(row)
        profiles[row["username"]] = f"{profile['name']}\n{profile['description']}\n{profile['about']}"
        verdicts[row["username"]] = score_bot(profile, await promotions.of(row["username"]), thresholds)
    links = [tuple(r) for r in await store.fetchall("SELECT bot, predecessor, kind, evidence FROM bot_mirrors")]
    pairs = [tuple(r) for r in await store.fetchall(
        """SELECT DISTINCT a.bot, b.bot FROM bot_refs a JOIN bot_refs b
             ON a.channel = b.channel AND a.post_id = b.post_id AND a.bot < b.bot
           WHERE (SELECT count(DISTINCT bot) FROM bot_refs c
                  WHERE c.channel = a.channel AND c.post_id = a.post_id) <= ?""", (MAX_BOTS_PER_POST_ASSOCIATION,))]
    verdicts = apply_lineage(verdicts, {u: d["label"] for u, d in decided.items()}, links, pairs, thresholds)
    counts = {"bots_scored": 0, "deepfake_generator": 0, "benign": 0, "unknown": 0, "overridden": 0, "mirrors": 0}
    updates = []
    t = now()
    for username, verdict in verdicts.items():
        label, reasons = verdict.label, list(verdict.reasons)
        override = decided.get(username)
        if override:
            label = override["label"]
            reasons.insert(0, f"analyst override by {override['decided_by']} at {override['decided_at']}: "
                              f"{override['label']}" + (f" ({override['note']})" if override["note"] else ""))
            counts["overridden"] += 1
        counts["bots_scored"] += 1
        counts[label] = counts.get(label, 0) + 1
        updates.append((label, verdict.label, verdict.score, json.dumps(reasons, ensure_ascii=False), t, username))
    return updates, profiles, counts


async def detect_bots(store: Store, config: Any) -> dict[str, int]:
    """Score every bot in the store and record mirrors; returns counts for the sweep summary.

    Mirrors are found from the profiles, stored, and then the verdicts are made again when there
    were new links, so a banned bot's lineage counts in the same run."""
    updates, profiles, counts = await score_all(store, config)
    t = now()
    mirrors, ads = await stream_refs(store, profiles)
    if ads:  # idempotent: the reference's key holds its kind
        async with store.transaction() as db:
            await db.executemany("INSERT OR IGNORE INTO bot_refs(channel, post_id, bot, how, param) VALUES (?,?,?,?,'')",
                                 [(channel, post_id, bot, AD_KIND) for channel, post_id, bot in ads])
    known = {tuple(r) for r in await store.fetchall("SELECT bot, predecessor, kind, evidence FROM bot_mirrors")}
    fresh = [m for m in mirrors if (m.bot, m.predecessor, m.kind, m.evidence) not in known]
    if fresh:
        async with store.transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO bot_mirrors(bot, predecessor, kind, evidence, first_seen) VALUES (?,?,?,?,?)",
                [(m.bot, m.predecessor, m.kind, m.evidence, t) for m in fresh])
        updates, profiles, counts = await score_all(store, config)
    async with store.transaction() as db:
        if updates:
            await db.executemany(
                "UPDATE bots SET label=?, auto_label=?, score=?, reasons=?, scored_at=? WHERE username=?", updates)
        counts["alerts"] = await _alert_rules(db, alert_settings(config))  # with their cause, or not at all
    counts["mirrors"] = len({(m.bot, m.predecessor) for m in mirrors})
    return counts


async def _alert_rules(db: Any, settings: AlertSettings) -> int:
    """deepfake_bot and mirror alerts for what the labels and mirrors now say (store/alerts.py)."""
    return await deepfake_bot_rule(db, settings) + await mirror_rule(db, settings)


async def set_override(store: Store, username: str, label: str, note: str, by: str,
                       alerts: AlertSettings | None = None, new: bool = False) -> dict[str, Any]:
    """Record an analyst's decision (kept forever, newest wins) and apply it to bots.label now.

    A username the store has never seen (not in bots, bot_refs or channels) is refused, since a
    typo would make a bot and an alert about it: LookupError(message, close matches among the
    known bot usernames), nothing written. `new=True` labels it anyway (a bot known from elsewhere).
    """
    import difflib

    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}")
    username = username.strip().lstrip("@").lower()
    at = now()
    async with store.transaction() as db:
        if not new:
            seen = await db.execute_fetchall(
                "SELECT EXISTS(SELECT 1 FROM bots WHERE username=?) OR EXISTS(SELECT 1 FROM bot_refs WHERE bot=?) "
                "OR EXISTS(SELECT 1 FROM channels WHERE username=?)", (username, username, username))
            if not seen[0][0]:
                known = [r[0] for r in await db.execute_fetchall(
                    "SELECT username FROM bots UNION SELECT bot FROM bot_refs")]
                close = difflib.get_close_matches(username, known, n=3)
                raise LookupError(f"no bot @{username} in the store (not among its bots, bot references or "
                                  "channels)" + (f"; did you mean {', '.join('@' + c for c in close)}?" if close
                                                 else ""), close)
        await db.execute("INSERT INTO bot_overrides(username, label, note, decided_by, decided_at) VALUES (?,?,?,?,?)",
                         (username, label, note, by, at))
        await db.execute("INSERT INTO bots(username, first_seen, last_seen) VALUES (?,?,?) "
                         "ON CONFLICT(username) DO NOTHING", (username, at, at))
        await db.execute("UPDATE bots SET label=? WHERE username=?", (label, username))
        raised = await _alert_rules(db, alerts or AlertSettings())
    return {"username": username, "label": label, "note": note, "by": by, "at": at, "alerts": raised}


async def list_bots(store: Store) -> list[dict[str, Any]]:
    """Every bot with both verdicts, references, channels, and referral codes seen."""
    decided = await overrides(store)
    rows = await store.fetchall(
        """SELECT b.username, b.confirmed, b.title, b.label, b.auto_label, b.score, b.reasons, b.scored_at,
                  (SELECT count(DISTINCT channel) FROM bot_refs r WHERE r.bot = b.username) AS channels,
                  (SELECT count(DISTINCT channel || '/' || post_id) FROM bot_refs r WHERE r.bot = b.username) AS posts,
                  (SELECT group_concat(DISTINCT param) FROM bot_refs r WHERE r.bot = b.username AND param != '')
                    AS params
           FROM bots b ORDER BY coalesce(b.score, -1) DESC, b.username""")
    mirrors = await store.fetchall("SELECT bot, predecessor, kind, evidence FROM bot_mirrors ORDER BY bot")
    out = []
    for r in rows:
        o = decided.get(r["username"])
        out.append({
            "username": r["username"], "title": r["title"],
            "confirmed": None if r["confirmed"] is None else bool(r["confirmed"]),
            "label": r["label"] or "unknown", "score": r["score"],
            "auto_label": r["auto_label"], "reasons": json.loads(r["reasons"]) if r["reasons"] else [],
            "override": {"label": o["label"], "note": o["note"], "by": o["decided_by"], "at": o["decided_at"]}
            if o else None,
            "channels": r["channels"], "posts": r["posts"],
            "referral_codes": sorted((r["params"] or "").split(",")) if r["params"] else [],
            "mirror_of": [{"bot": m["predecessor"], "kind": m["kind"], "evidence": m["evidence"]}
                          for m in mirrors if m["bot"] == r["username"]],
            "scored_at": r["scored_at"],
        })
    return out
