"""`tgsweep verify`: what the store says, re-derived from the evidence it keeps.

The custody chain and capture hashes (Store.verify) prove the captures are unaltered; they do
not prove the tables built from them are. So every post version is read again from its capture,
every media appearance is checked against the media file's custody entry, every bot verdict is
re-scored from its stored profile (or taken from the analyst's decision record), and any
difference is a problem. The chain head can be anchored outside the store (`--anchor FILE`), so
a chain recomputed from scratch by someone with write access no longer verifies.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.web.tme_parse import parse_channel_page
from detectors.bots.stage import score_all
from store.records import now
from store.sqlite import Store

ANCHOR_KEY_ENV = "TGSWEEP_ANCHOR_KEY"


async def rederive(store: Store, config: Any) -> list[str]:
    """Every difference between the tables and what their captures and decisions say."""
    return await _posts(store) + await _media(store) + await _warcs(store, config) + await _verdicts(store, config)


async def _posts(store: Store) -> list[str]:
    problems: list[str] = []
    by_capture: dict[str, list[Any]] = defaultdict(list)
    by_post: dict[tuple[str, int], list[Any]] = defaultdict(list)  # in version order
    for row in await store.post_version_rows():
        by_capture[row["capture_sha256"] or ""].append(row)
        by_post[(row["channel"], row["id"])].append(row)
    for digest, rows in by_capture.items():
        seen = await _capture_posts(store, digest)
        if seen is None:
            problems += [f"post {r['channel']}/{r['id']} v{r['version']}: its capture {digest[:16]} is missing"
                         for r in rows]
            continue
        for r in rows:
            found = seen.get((r["channel"], r["id"]))
            if found is None:
                problems.append(f"post {r['channel']}/{r['id']} v{r['version']}: not in the capture it cites "
                                f"({digest[:16]})")
            elif found[0] != r["text"] or (r["content"] is not None and found[1] is not None
                                           and found[1] != r["content"]):
                problems.append(f"post {r['channel']}/{r['id']} v{r['version']}: differs from its capture "
                                f"({digest[:16]})")
    stored = set()
    for channel, post_id, text, capture in await store.post_rows():
        stored.add((channel, post_id))
        versions = by_post.get((channel, post_id))
        if not versions:
            problems.append(f"post {channel}/{post_id}: has no recorded version (written outside a sweep?)")
        elif text not in {r["text"] for r in versions}:
            problems.append(f"post {channel}/{post_id}: text differs from every version read from its captures")
        elif capture not in {r["capture_sha256"] for r in versions}:
            problems.append(f"post {channel}/{post_id}: cites a capture none of its versions was read from")
    for channel, post_id in sorted(set(by_post) - stored):
        problems.append(f"post {channel}/{post_id}: has versions but was removed from the posts table")
    return problems


async def _capture_posts(store: Store, digest: str) -> dict[tuple[str, int], tuple[str, str | None]] | None:
    """(channel, id) -> (text, content key) as the capture shows them; None if it is gone."""
    meta = await store.capture_kind_url(digest)
    if meta is None:
        return None
    kind, url = meta
    data = await store.read_capture(digest)
    if kind == "telethon_json":
        body = json.loads(data)
        target = str(body.get("target", "")).lower()
        groups: dict[Any, list[dict]] = defaultdict(list)
        for obj in body.get("objects", []):
            if isinstance(obj, dict) and "id" in obj:
                groups[obj.get("grouped_id") or ("single", obj["id"])].append(obj)
        out: dict[tuple[str, int], tuple[str, str | None]] = {}
        for members in groups.values():
            caption = next((m.get("message") for m in members if m.get("message")), "") or ""
            for m in members:
                out[(target, m["id"])] = (caption, None)
        return out
    channel = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].lower()
    page = parse_channel_page(data, channel)
    return {(p.channel, p.id): (p.text, p.content_key()) for p in page.posts}


async def _media(store: Store) -> list[str]:
    problems = []
    logged, known, items = await store.media_custody_check()
    for channel, post_id, position, digest in items:
        if digest not in known:
            problems.append(f"media item {channel}/{post_id}#{position}: names a file the store does not have")
        elif digest not in logged:
            problems.append(f"media item {channel}/{post_id}#{position}: its file has no custody entry")
    return problems


async def _warcs(store: Store, config: Any) -> list[str]:
    """Every WARC file the custody chain holds is there with the same SHA-256, and every closed one is held."""
    from crawler.warc import closed_files, file_sha256

    folder = config.storage.warc_dir
    recorded = await store.warc_files_recorded()
    problems = []
    for name, digest in sorted(recorded.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"WARC file {name}: in the custody chain, missing from {folder}")
        elif file_sha256(path) != digest:
            problems.append(f"WARC file {name}: its SHA-256 differs from its custody entry (altered)")
    for path in closed_files(folder):
        if path.name not in recorded:
            problems.append(f"WARC file {path.name}: not in the custody chain (a crawl was killed before entering "
                            "it; the next sweep enters it)")
    return problems


async def _verdicts(store: Store, config: Any) -> list[str]:
    updates, _, _ = await score_all(store, config)
    stored = await store.scored_bots()
    problems = []
    for label, auto_label, score, _, _, username in updates:
        row = stored.get(username)
        if row is None:
            continue  # not scored yet: the next sweep's detect stage scores it
        if row["label"] != label:
            problems.append(f"bot {username}: label {row['label']!r} is neither the analyst's decision nor what "
                            f"its profile scores ({label!r})")
        elif row["auto_label"] != auto_label or abs((row["score"] or 0) - score) > 1e-6:
            problems.append(f"bot {username}: automatic verdict {row['auto_label']!r} ({row['score']}) differs "
                            f"from its profile's score now ({auto_label!r}, {score:.3f}); run a sweep or "
                            "`tgsweep bots refresh` if the classifier was upgraded")
    return problems


# -- anchoring the chain head outside the store ---------------------------------------------------------

def _sign(line: dict[str, Any], key: str | None) -> str | None:
    if not key:
        return None
    body = json.dumps({k: line[k] for k in ("seq", "entry_hash", "at")}, sort_keys=True).encode()
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


async def anchor(store: Store, path: Path) -> list[str]:
    """Check every head written to `path` before, then append the current head.

    Each line is JSON {seq, entry_hash, at, anchored_at[, hmac]}; the HMAC (key from
    $TGSWEEP_ANCHOR_KEY) shows the line itself was not rewritten. Keep the file apart from the
    store (another machine, a printout, a case file).
    """
    key = os.environ.get(ANCHOR_KEY_ENV)
    problems = []
    if path.exists():
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                seq, digest = int(line["seq"]), str(line["entry_hash"])
            except (ValueError, KeyError, TypeError):
                problems.append(f"anchor line {number}: unreadable")
                continue
            if key and line.get("hmac") and not hmac.compare_digest(line["hmac"], _sign(line, key) or ""):
                problems.append(f"anchor line {number}: its HMAC does not match ({ANCHOR_KEY_ENV})")
            stored_hash = await store.custody_hash(seq)
            if stored_hash is None:
                problems.append(f"anchor line {number}: custody entry {seq} no longer exists")
            elif stored_hash != digest:
                problems.append(f"anchor line {number}: custody entry {seq} has hash {stored_hash[:16]}, the anchor "
                                f"says {digest[:16]} (the chain was rewritten)")
    head = await store.custody_head_entry()
    if head is not None and not problems:
        line = {"seq": head[0], "entry_hash": head[1], "at": head[2], "anchored_at": now()}
        signature = _sign(line, key)
        if signature:
            line["hmac"] = signature
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
    return problems
