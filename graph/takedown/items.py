"""Takedown request lists: what was escalated, in the form a platform's abuse desk asks for.

Pure: rows in (escalated posts from graph.escalation.escalated_posts, escalated bots and
channels), a list out, rendered as JSON (grouped per platform) or CSV (one row per item).
Only Telegram for now; the `platform` field leaves room for mirrors elsewhere.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

CSV_COLUMNS = ("platform", "kind", "url", "channel", "post_id", "bot", "subject", "score", "first_seen", "date",
               "sha256s", "reasons")


def takedown_items(posts: list[dict[str, Any]], bots: list[dict[str, Any]],
                   channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per post URL, bot and channel to take down; merged per URL, sorted (deterministic)."""
    items: dict[str, dict[str, Any]] = {}

    def item(kind: str, url: str, channel: str | None, post_id: int | None, bot: str | None,
             first_seen: str | None, date: str | None) -> dict[str, Any]:
        return items.setdefault(url, {
            "platform": "telegram", "kind": kind, "url": url, "channel": channel, "post_id": post_id, "bot": bot,
            "subjects": [], "score": None, "first_seen": first_seen, "date": date, "sha256s": [], "reasons": []})

    for p in posts:
        url = p.get("url") or f"https://t.me/{p['channel']}/{p['post_id']}"
        _merge(item("post", url, p["channel"], int(p["post_id"]), None, p.get("first_seen"), p.get("date")),
               p.get("subject"), p.get("score"), p.get("reasons") or [], p.get("sha256s") or [])
    for kind, rows in (("bot", bots), ("channel", channels)):
        for r in rows:
            name = r["subject"].split(":", 1)[1]
            entry = item(kind, f"https://t.me/{name}", name if kind == "channel" else None, None,
                         name if kind == "bot" else None, r.get("first_seen"), None)
            _merge(entry, r["subject"], r.get("score"), r.get("reasons") or [], [])
    order = {"channel": 0, "bot": 1, "post": 2}
    return sorted(items.values(), key=lambda i: (order[i["kind"]], i["channel"] or "", i["post_id"] or 0,
                                                 i["bot"] or ""))


def _merge(item: dict[str, Any], subject: str | None, score: float | None, reasons: list[str],
           hashes: list[str]) -> None:
    if subject and subject not in item["subjects"]:
        item["subjects"].append(subject)
        item["subjects"].sort()
    if score is not None and (item["score"] is None or score > item["score"]):
        item["score"] = round(float(score), 4)
    item["reasons"] += [r for r in reasons if r not in item["reasons"]]
    item["sha256s"] = sorted(set(item["sha256s"]) | {h for h in hashes if h})


def render_json(items: list[dict[str, Any]]) -> str:
    """{"platforms": {"telegram": {"channels": [...], "bots": [...], "posts": [...]}}, "counts": {...}}."""
    platforms: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for item in items:
        group = platforms.setdefault(item["platform"], {"channels": [], "bots": [], "posts": []})
        group[item["kind"] + "s"].append({k: v for k, v in item.items() if k != "platform" and v is not None})
    counts = {p: {k: len(v) for k, v in g.items()} for p, g in platforms.items()}
    return json.dumps({"platforms": platforms, "counts": counts}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def render_csv(items: list[dict[str, Any]]) -> str:
    """One row per item; lists joined with ' | ' (hashes with ';')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i in items:
        writer.writerow([i["platform"], i["kind"], i["url"], i["channel"] or "", i["post_id"] or "", i["bot"] or "",
                         " | ".join(i["subjects"]), "" if i["score"] is None else f"{i['score']:.4f}",
                         i["first_seen"] or "", i["date"] or "", ";".join(i["sha256s"]), " | ".join(i["reasons"])])
    return buffer.getvalue()
