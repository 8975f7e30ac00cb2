"""Exports for outside tools. `messages`: one JSON object per collected post (the contract)."""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, AsyncIterator

from crawler.store import Store

_NO_BYTES = {"pending": "not fetched yet"}


def _media(row: Any, matches: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": row["kind"]}
    if row["status"] == "stored" and row["sha256"]:
        item |= {"sha256": row["sha256"], "md5": row["md5"], "pdq": row["pdq"], "phash": row["phash"],
                 "cluster": row["cluster"], "bank_matches": (matches or {}).get(row["sha256"], [])}
        if row["pdq"] is not None:
            item["pdq_quality"] = row["pdq_quality"]
        if row["fingerprint_error"]:
            item["fingerprint_note"] = row["fingerprint_error"]
    else:
        item["error"] = row["error"] or _NO_BYTES.get(row["status"], row["status"])
    if row["thumb_sha256"]:
        item["thumb_sha256"] = row["thumb_sha256"]
    if row["item_post_id"]:
        item["post"] = row["item_post_id"]
    if row["duration"] is not None:
        item["duration"] = row["duration"]
    return item


def message_object(row: Any, media: list[dict[str, Any]], bots: list[str]) -> dict[str, Any]:
    """A stored post as the exported message: the contract's fields first, then the rest of the record."""
    record = json.loads(row["record"])
    fwd = record.get("forwarded_from")
    if fwd and fwd.get("channel"):
        forwarded = {"channel": fwd["channel"], "post": fwd.get("post")}
    elif fwd:
        forwarded = {"name": fwd.get("name")}
    else:
        forwarded = None
    return {
        "channel": row["channel"], "id": row["id"], "date": row["date"], "text": row["text"],
        "views": row["views"], "forwarded_from": forwarded, "via_bot": row["via_bot"],
        "links": record.get("links", []), "bot_refs": bots, "media": media, "source": row["source"],
        "url": f"https://t.me/{row['channel']}/{row['id']}",
        "channel_id": row["channel_id"], "edited": bool(row["edited"]), "author": row["author"],
        "mentions": record.get("mentions", []), "hashtags": record.get("hashtags", []),
        "reply_to": record.get("reply_to"), "buttons": record.get("buttons", []),
        "link_preview": record.get("link_preview"), "reactions": record.get("reactions", []),
        "service": row["service"], "poll": record.get("poll"), "unsupported": record.get("unsupported", False),
        "first_seen": row["first_seen"], "capture_sha256": row["capture_sha256"],
    }


async def export_messages(store: Store, channels: list[str] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Stream every stored post, channel by channel, oldest first."""
    names = channels or [r[0] for r in await store.fetchall("SELECT DISTINCT channel FROM posts ORDER BY channel")]
    for channel in names:
        media: dict[int, list[dict[str, Any]]] = defaultdict(list)
        matches: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sha, bank, label, distance, hash_type, tier in await store.fetchall(
                """SELECT b.sha256, b.bank, b.label, b.distance, b.hash_type, b.tier FROM bank_matches b
                   JOIN media_items i ON i.sha256 = b.sha256 WHERE i.channel=?
                   GROUP BY b.sha256, b.bank, b.hash_type, b.hash ORDER BY b.distance, b.bank""", (channel,)):
            matches[sha].append({"bank": bank, "label": label, "distance": distance, "hash_type": hash_type,
                                 "tier": tier})
        for row in await store.fetchall(
                """SELECT i.*, m.md5, m.pdq, m.pdq_quality, m.phash, m.cluster, m.fingerprint_error FROM media_items i
                   LEFT JOIN media m ON m.sha256 = i.sha256 WHERE i.channel=? ORDER BY i.post_id, i.position""",
                (channel,)):
            media[row["post_id"]].append(_media(row, matches))
        bots: dict[int, list[str]] = defaultdict(list)
        for post_id, bot in await store.fetchall(
                "SELECT post_id, bot FROM bot_refs WHERE channel=? ORDER BY rowid", (channel,)):
            if bot not in bots[post_id]:
                bots[post_id].append(bot)
        async with store.db.execute("SELECT * FROM posts WHERE channel=? ORDER BY id", (channel,)) as cur:
            async for row in cur:
                yield message_object(row, media.get(row["id"], []), bots.get(row["id"], []))
