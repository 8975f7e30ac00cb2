"""The detect stage for bots: read profiles and promotions from the store, score, find mirrors, write back.

Re-runnable: every run rescores every bot from what the store holds now. An analyst's override
(bot_overrides) always wins over the automatic label and is never overwritten; the automatic
verdict is still kept beside it (bots.auto_label, score, reasons).
"""
from __future__ import annotations

import json
from typing import Any

from detectors.bots.classifier import MAX_PROMOTIONS, Thresholds, Verdict, score_bot
from detectors.bots.lineage import apply_lineage
from detectors.bots.stream import Promotions, stream_refs
from store.alerts import AlertSettings, alert_settings
from store.bots import BotsStore
from store.records import now
from store.refs import AD_KIND

LABELS = ("deepfake_generator", "benign")
MAX_BOTS_PER_POST_ASSOCIATION = 10  # a post listing more bots says nothing about any pair of them


def _thresholds(config: Any) -> tuple[Thresholds, int]:
    bots = getattr(config, "bots", None)
    if bots is None:
        return Thresholds(), MAX_PROMOTIONS
    return Thresholds(bots.generator_threshold, bots.benign_threshold), bots.max_promotions


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


async def score_all(store: BotsStore, config: Any) -> tuple[list[tuple], dict[str, str], dict[str, int]]:
    """Every bot's verdict from what the store holds now, written nowhere.

    The bot's own words and its promotions (detectors/bots/classifier.py), then its lineage
    (detectors/bots/lineage.py: mirror links, co-promotion), then an analyst's decision over all.
    Returns the `bots` updates (label, auto_label, score, reasons, scored_at, username), each bot's
    profile text (for mirrors) and counts. `detect_bots` writes them; `tgsweep verify` compares.
    """
    thresholds, max_promotions = _thresholds(config)
    bots = await store.bots_to_score()
    # bounded memory: promotions a chunk of bots at a time, mirrors streamed (detectors/bots/stream.py)
    promotions = Promotions(store, [r["username"] for r in bots], max_promotions)
    decided = await store.bot_overrides()
    verdicts: dict[str, Verdict] = {}
    profiles: dict[str, str] = {}
    for row in bots:
        profile = profile_of(row)
        profiles[row["username"]] = f"{profile['name']}\n{profile['description']}\n{profile['about']}"
        verdicts[row["username"]] = score_bot(profile, await promotions.of(row["username"]), thresholds)
    links = await store.mirror_links()
    pairs = await store.co_promoted_bots(MAX_BOTS_PER_POST_ASSOCIATION)
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


async def detect_bots(store: BotsStore, config: Any) -> dict[str, int]:
    """Score every bot in the store and record mirrors; returns counts for the sweep summary.

    Mirrors are found from the profiles, stored, and then the verdicts are made again when there
    were new links, so a banned bot's lineage counts in the same run."""
    updates, profiles, counts = await score_all(store, config)
    mirrors, ads = await stream_refs(store, profiles)
    await store.add_references([(channel, post_id, bot, AD_KIND) for channel, post_id, bot in ads])
    known = set(await store.mirror_links())
    fresh = [link for m in mirrors if (link := (m.bot, m.predecessor, m.kind, m.evidence)) not in known]
    if fresh:
        await store.add_mirror_links(fresh)
        updates, profiles, counts = await score_all(store, config)
    counts["alerts"] = await store.save_verdicts(updates, alert_settings(config))  # alerts with their cause
    counts["mirrors"] = len({(m.bot, m.predecessor) for m in mirrors})
    return counts


async def set_override(store: BotsStore, username: str, label: str, note: str, by: str,
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
    if not new and not await store.known_bot(username):
        close = difflib.get_close_matches(username, await store.bot_names(), n=3)
        raise LookupError(f"no bot @{username} in the store (not among its bots, bot references or "
                          "channels)" + (f"; did you mean {', '.join('@' + c for c in close)}?" if close
                                         else ""), close)
    raised = await store.record_override(username, label, note, by, at, alerts or AlertSettings())
    return {"username": username, "label": label, "note": note, "by": by, "at": at, "alerts": raised}


async def list_bots(store: BotsStore) -> list[dict[str, Any]]:
    """Every bot with both verdicts, references, channels, and referral codes seen."""
    decided = await store.bot_overrides()
    rows, mirrors = await store.bot_listing()
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
