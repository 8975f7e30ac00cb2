"""The automation part of the detect stage: read post samples, score (detectors.automation.scores), write back.

Re-runnable: every run reads the newest `[automation] max_posts` posts of every channel and
rewrites `automation_scores` whole, in one transaction. Posting accounts are scored when
posts name one: a `from_id` column when the posts table has it (Telethon), else the author
signature (`posts.author`), scoped to its channel since signatures are only names.
"""
from __future__ import annotations

import json
from typing import Any

from detectors.automation.scores import SIGNALS, AutomationScore, PostSample, Settings, score_all
from store.automation import AutomationStore
from store.records import now
from tgsweep.config import Automation, default


def settings_from(config: Any) -> Settings:
    """Settings from `[automation]` (defaults when the config has no such section)."""
    section = getattr(config, "automation", None)
    if section is None:
        return Settings()
    return Settings(min_posts=section.min_posts, min_text_posts=section.min_text_posts,
                    min_text_length=section.min_text_length, threshold=section.threshold,
                    near_duplicate_jaccard=section.near_duplicate_jaccard, burst_posts=section.burst_posts,
                    burst_seconds=section.burst_seconds,
                    weights={name: getattr(section, f"weight_{name}") for name in SIGNALS})


async def load_samples(store: AutomationStore, max_posts: int) -> list[PostSample]:
    """The newest `max_posts` non-service posts of every channel, as the scoring reads them."""
    out = []
    for channel, post_id, date, text, views, fwd, links, bots, author, sender in await store.automation_samples(max_posts):
        account = str(sender) if sender is not None else (f"{channel}/{author}" if author else None)
        out.append(PostSample(channel, post_id, date, text or "", views, bool(fwd), links or 0,
                              tuple(sorted(bots.split(","))) if bots else (), account))
    return out


async def subscriber_counts(store: AutomationStore) -> dict[str, int]:
    out = {}
    for username, counters in await store.channel_counters():
        try:
            value = json.loads(counters).get("subscribers")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int) and value > 0:
            out[username] = value
    return out


async def detect_automation(store: AutomationStore, config: Any) -> dict[str, Any]:
    """Score every channel and posting account; rewrite automation_scores; counts for the summary."""
    section = getattr(config, "automation", None)
    if section is not None and not section.enabled:
        return {}
    settings = settings_from(config)
    samples = await load_samples(store, section.max_posts if section is not None else default(Automation, "max_posts"))
    scores = score_all(samples, settings, await subscriber_counts(store))
    t = now()
    await store.replace_automation_scores(
        [(s.subject, s.kind, s.score, json.dumps(s.reasons, ensure_ascii=False),
          json.dumps({"verdict": s.verdict, **s.features}, ensure_ascii=False), t) for s in scores])
    return summarize(scores)


def summarize(scores: list[AutomationScore]) -> dict[str, Any]:
    """Counts for the sweep summary, and the highest automated subjects with their first reason."""
    return {"channels": sum(s.kind == "channel" for s in scores), "accounts": sum(s.kind == "account" for s in scores),
            "automated": sum(s.verdict == "automated" for s in scores),
            "insufficient_data": sum(s.verdict == "insufficient_data" for s in scores),
            "top": [f"{s.subject} {s.score:.2f}: {s.reasons[0]}" for s in scores
                    if s.verdict == "automated" and s.reasons][:3]}


async def list_automation(store: AutomationStore, min_score: float = 0.0, kind: str | None = None,
                          subject: str | None = None) -> list[dict[str, Any]]:
    """Stored scores, highest first, reasons and features decoded (`subject`: that one only)."""
    rows = await store.automation_rows(min_score, kind, subject)
    out = []
    for r in rows:
        features = json.loads(r["features"])
        out.append({"subject": r["subject"], "kind": r["kind"], "score": r["score"],
                    "verdict": features.pop("verdict", None), "reasons": json.loads(r["reasons"]),
                    "features": features, "computed_at": r["computed_at"]})
    return out
