"""`tgsweep takedown check`: is escalated content still up? Records when it went (takedown latency).

Each escalated post (graph.escalation.escalated_posts over `[graph] escalation_threshold`)
and each post checked before is fetched as t.me's embed widget, `<base_url>/<channel>/<id>
?embed=1`. The answer is classified (pure, `classify_embed`): the post's widget -> up;
t.me's error widget ("Post not found", "Channel is private") or 404/410 -> down; anything
else (429/5xx after retries, a redirect, a network error, a page we cannot read) -> error,
which changes nothing: precision first, a takedown is recorded only on a definite answer.
Definite answers are kept as raw captures with a custody entry (the proof that the post was
up, or gone, at that time). Rows live in `takedown_checks`; latency = taken_down_at minus
when the subject was first seen escalated (escalated_at), and minus when the post was first
collected (post_first_seen).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from store.records import Capture, now
from store.takedowns import TakedownsStore
from tgsweep.config import Config

log = logging.getLogger(__name__)


# -- pure ---------------------------------------------------------------------------------------------

def classify_embed(status: int | None, body: bytes, channel: str, post_id: int, failure: str = "") -> tuple[str, str]:
    """('up' | 'down' | 'error', detail) for one answer to `<channel>/<id>?embed=1`."""
    if status is None:
        return "error", f"no answer: {failure or 'request failed'}"
    if status != 200:  # a bare 404 or 410 may be a proxy, a mirror or a block: only t.me's own widget says gone
        return "error", f"http {status}" + (f" ({failure})" if failure else "")
    tree = LexborHTMLParser(body.decode("utf-8", "replace"))
    error = tree.css_first(".tgme_widget_message_error")
    if error is not None:
        return "down", " ".join(error.text().split()) or "error widget"
    wanted = f"{channel}/{post_id}".lower()
    for node in tree.css(".tgme_widget_message[data-post]"):
        if (node.attributes.get("data-post") or "").lower() == wanted:
            return "up", "post shown"
    return "error", "the page shows neither the post nor t.me's error widget (layout changed?)"


def next_state(row: dict[str, Any] | None, status: str, detail: str, at: str) -> dict[str, Any]:
    """The takedown_checks fields after one check (row = the stored fields, or None for a first check)."""
    state = dict(row or {})
    state.setdefault("first_checked_at", at)
    state.setdefault("taken_down_at", None)
    state.setdefault("last_seen_up_at", None)
    state["checks"] = int(state.get("checks") or 0) + 1
    state["last_checked_at"] = at
    state["last_status"] = status
    state["last_detail"] = detail
    if status == "up":
        if state.get("taken_down_at"):  # it came back: the takedown did not hold
            state["last_detail"] = f"{detail}; back up after being gone at {state['taken_down_at']}"
            state["taken_down_at"] = None
        state["last_seen_up_at"] = at
    elif status == "down":
        state["taken_down_at"] = state.get("taken_down_at") or at
    return state


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return (b - a).total_seconds()


def latency(row: dict[str, Any]) -> dict[str, float | None]:
    """Takedown latency in seconds: from first seen escalated, and from first collected."""
    return {"from_escalation": _seconds(row.get("escalated_at"), row.get("taken_down_at")),
            "from_first_seen": _seconds(row.get("post_first_seen"), row.get("taken_down_at"))}


# -- the stage ------------------------------------------------------------------------------------------

async def targets(store: TakedownsStore) -> list[dict[str, Any]]:
    """Posts behind subjects that crossed [graph] escalation_threshold, plus every post checked before
    (so a takedown is still seen after a subject drops back under the threshold)."""
    from graph.evidence.gather import escalated_posts, escalated_subjects

    since = {e["subject"]: e.get("escalated_at") or e.get("computed_at") for e in await escalated_subjects(store)}
    found: dict[str, dict[str, Any]] = {}
    for p in await escalated_posts(store, None):
        url = p.get("url") or f"https://t.me/{p['channel']}/{p['post_id']}"
        found.setdefault(url, {"url": url, "channel": p["channel"], "post_id": int(p["post_id"]),
                               "subject": p.get("subject"), "escalated_at": since.get(p.get("subject"))})
    for r in await store.checked_urls():
        found.setdefault(r["url"], {"url": r["url"], "channel": r["channel"], "post_id": r["post_id"],
                                    "subject": r["subject"], "escalated_at": None})
    return sorted(found.values(), key=lambda t: (t["channel"], t["post_id"]))


async def record_check(store: TakedownsStore, target: dict[str, Any], status: str, detail: str, body: bytes,
                       fetched_url: str) -> dict[str, Any]:
    """One check into takedown_checks (and, for a definite answer, its raw capture and custody entry)."""
    at = now()

    def plan(row: dict[str, Any] | None, first_seen: str | None) -> dict[str, Any]:
        state = next_state(row, status, detail, at)
        return state | {"url": target["url"], "channel": target["channel"], "post_id": target["post_id"],
                        "subject": (row or {}).get("subject") or target.get("subject"),
                        "escalated_at": (row or {}).get("escalated_at") or target.get("escalated_at") or at,
                        "post_first_seen": (row or {}).get("post_first_seen") or first_seen}

    capture = Capture("embed_page", fetched_url, body) if status in ("up", "down") and body else None
    state = await store.record_takedown_check(target["url"], target["channel"], target["post_id"], plan, capture)
    return state


async def check_takedowns(store: TakedownsStore, config: Config) -> dict[str, int]:
    """Re-check every target once; counts of up, down (newly and before), errors."""
    from crawler.web.recheck import EmbedSpider, crawl

    todo = await targets(store)
    by_key = {(t["channel"], t["post_id"]): t for t in todo}
    counts = {"checked": 0, "up": 0, "down": 0, "newly_down": 0, "errors": 0}

    async def on_answer(channel: str, post_id: int, status: int | None, body: bytes, url: str, failure: str) -> None:
        target = by_key[(channel, post_id)]
        verdict, detail = classify_embed(status, body, channel, post_id, failure)
        state = await record_check(store, target, verdict, detail, body, url)
        counts["checked"] += 1
        counts["errors" if verdict == "error" else verdict] += 1
        if verdict == "down" and state["taken_down_at"] == state["last_checked_at"]:  # next_state: first seen gone now
            counts["newly_down"] += 1
            await store.record_deleted(None, channel, post_id, state.get("capture_sha256"), "embed")
            log.info("taken down: %s (%s), latency %s", target["url"], detail, latency(state))
        elif verdict == "error":
            log.warning("takedown check of %s inconclusive: %s", target["url"], detail)

    if todo:
        await crawl(config, store, EmbedSpider, base=config.web.base_url, targets=list(by_key), on_answer=on_answer)
    return counts


async def takedown_report(store: TakedownsStore) -> dict[str, Any]:
    """For `tgsweep status` and `takedown list`: tracked URLs, how many are down, latency figures."""
    rows = await store.takedown_rows()
    for r in rows:
        r["latency_seconds"] = latency(r)
    down = [r for r in rows if r["taken_down_at"]]
    waits = sorted(r["latency_seconds"]["from_escalation"] for r in down
                   if r["latency_seconds"]["from_escalation"] is not None)
    return {"tracked": len(rows), "up": sum(1 for r in rows if not r["taken_down_at"]), "down": len(down),
            "last_checked_at": max((r["last_checked_at"] for r in rows), default=None),
            "median_latency_seconds": waits[len(waits) // 2] if waits else None,
            "max_latency_seconds": waits[-1] if waits else None, "posts": rows}


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    if value < 172800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} days"


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)
