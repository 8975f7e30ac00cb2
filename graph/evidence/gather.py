"""The I/O edge of evidence bundles and takedown lists: read what a subject touches from the store.

graph/evidence/bundle.py and graph/takedown/items.py are pure; this module reads rows and bytes (raw
captures through Store.read_capture, media files from `[storage] media_dir`) and hands
them over. Escalations come from graph.escalation (interface 3: `list_escalations`,
`escalated_posts`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from store.sqlite import Store
from graph.evidence.bundle import EvidenceInput
from graph.evidence.bundle import sha256 as file_sha256
from graph.escalation import escalated_posts, escalated_subjects, list_escalations
from graph.exports import export_messages


class SubjectError(ValueError):
    """The subject names nothing in the store (the message says what was looked for)."""


# -- subjects ------------------------------------------------------------------------------------------

async def resolve_subject(store: Store, given: str) -> tuple[str, str, str]:
    """(node id, kind, name) for a node id or a bare username (a bot if the store knows it as one)."""
    text = given.strip()
    kind, sep, name = text.partition(":")
    if sep:
        if kind not in ("channel", "bot", "media"):
            raise SubjectError(f"{given!r}: expected channel:<username>, bot:<username>, media:<cluster> "
                               "or a bare username")
        name = name if kind == "media" else name.lstrip("@").lower()
    else:
        name = text.lstrip("@").lower()
        is_bot = await store.fetchone("SELECT 1 FROM bots WHERE username=? AND coalesce(confirmed, 1) = 1", (name,))
        kind = "bot" if is_bot else "channel"
    if kind == "bot":
        found = await store.fetchone("SELECT 1 FROM bots WHERE username=?", (name,))
    elif kind == "channel":
        found = await store.fetchone("SELECT 1 FROM posts WHERE channel=? LIMIT 1", (name,)) or \
            await store.fetchone("SELECT 1 FROM channels WHERE username=?", (name,))
    else:
        found = await store.fetchone("SELECT 1 FROM media_clusters WHERE id=?", (name,)) or \
            await store.fetchone("SELECT 1 FROM media WHERE cluster=?", (name,))
    if not found:
        raise SubjectError(f"{kind}:{name} is not in the store (no posts, profile or cluster by that name)")
    return f"{kind}:{name}", kind, name


async def _subject_posts(store: Store, kind: str, name: str) -> list[dict[str, Any]]:
    if kind == "channel":
        keys = None
        channels = [name]
    else:
        sql = ("SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot=?" if kind == "bot" else
               "SELECT DISTINCT i.channel, i.post_id FROM media_items i JOIN media m "
               "ON m.sha256 = i.sha256 OR m.sha256 = i.thumb_sha256 WHERE m.cluster=?")  # as the graph's `posted`
        keys = {(r[0], r[1]) for r in await store.fetchall(sql, (name,))}
        channels = sorted({c for c, _ in keys})
    if not channels:
        return []
    return [m async for m in export_messages(store, channels) if keys is None or (m["channel"], m["id"]) in keys]


async def _entity_captures(store: Store, name: str) -> list[str]:
    """Raw captures of the subject's own entity page (t.me/<name>), whatever base URL fetched them."""
    rows = await store.fetchall("SELECT sha256, url FROM raw_captures WHERE kind='entity_page' AND url LIKE ?",
                                (f"%/{name}",))
    return [r[0] for r in rows if r[1].rstrip("/").rsplit("/", 1)[-1].lower() == name]


async def gather_evidence(store: Store, config: Any, given: str) -> EvidenceInput:
    """Everything a bundle about `given` holds, read from the store and media_dir."""
    subject, kind, name = await resolve_subject(store, given)
    posts = await _subject_posts(store, kind, name)
    if kind == "bot":
        row = await store.fetchone("SELECT username, title, label, score, first_seen, last_seen FROM bots "
                                   "WHERE username=?", (name,))
    elif kind == "channel":
        row = await store.fetchone("SELECT username, title, kind, channel_id, has_preview, watched, "
                                   "discovered_from, first_seen, last_seen FROM channels WHERE username=?", (name,))
    else:
        row = await store.fetchone("SELECT * FROM media_clusters WHERE id=?", (name,))
    profile = dict(row) if row else {}

    digests = {p["capture_sha256"] for p in posts if p.get("capture_sha256")}
    if kind in ("bot", "channel"):
        digests |= set(await _entity_captures(store, name))
    keys = [(p["channel"], p["id"]) for p in posts]
    if keys:
        wanted = set(keys)
        for channel, post_id, digest in await store.fetchall(
                "SELECT channel, post_id, capture_sha256 FROM takedown_checks WHERE capture_sha256 IS NOT NULL"):
            if (channel, post_id) in wanted:
                digests.add(digest)
    captures = []
    for digest in sorted(digests):
        meta = await store.fetchone("SELECT sha256, kind, url, size, first_fetched FROM raw_captures WHERE sha256=?",
                                    (digest,))
        if meta is not None:
            captures.append(dict(meta) | {"content": await store.read_capture(digest)})

    media_hashes = {m[k] for p in posts for m in p.get("media") or [] for k in ("sha256", "thumb_sha256") if m.get(k)}
    if kind == "media":
        media_hashes |= {r[0] for r in await store.fetchall("SELECT sha256 FROM media WHERE cluster=?", (name,))}
    hash_only = config.media.keep == "none"
    media = []
    for digest in sorted(media_hashes):
        row = await store.fetchone("SELECT sha256, md5, size, mime, width, height, path, pdq, pdq_quality, phash, "
                                   "cluster, first_seen FROM media WHERE sha256=?", (digest,))
        if row is None:
            continue
        item = dict(row) | {"content": None}
        if hash_only:
            item["absent"] = "hash-only mode"
        elif not row["path"]:
            item["absent"] = "no file kept (collected in hash-only mode)"
        else:
            file = Path(config.storage.media_dir) / row["path"]
            if not file.exists():
                item["absent"] = "file missing from media_dir"
            elif file_sha256(file) != digest:
                item["absent"] = "file in media_dir does not match its SHA-256: left out (run `tgsweep verify`)"
            else:  # streamed into the zip later: only its hash is checked here
                item["content"] = file
        media.append(item)

    logged = sorted({c["sha256"] for c in captures} | media_hashes)
    custody = []
    for start in range(0, len(logged), 500):
        part = logged[start:start + 500]
        custody += [dict(r) for r in await store.fetchall(
            f"SELECT seq, at, action, sha256, url, sweep_id, prev_hash, entry_hash FROM custody_log "
            f"WHERE sha256 IN ({','.join('?' * len(part))}) ORDER BY seq", part)]
    head = await store.fetchone("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")

    matches = []
    for digest in sorted(media_hashes):
        matches += [dict(r) for r in await store.fetchall(
            "SELECT sha256, bank, hash_type, hash, label, distance, tier, via, matched_at FROM bank_matches "
            "WHERE sha256=? ORDER BY bank, hash_type, hash", (digest,))]

    from detectors.bots.stage import list_bots

    involved = {b for p in posts for b in p.get("bot_refs") or []} | ({name} if kind == "bot" else set())
    bots = [b for b in await list_bots(store) if b["username"] in involved]
    around = {subject} | {f"channel:{p['channel']}" for p in posts} | {f"bot:{b}" for b in involved}
    around |= {f"media:{m['cluster']}" for m in media if m.get("cluster")}
    escalations = [e for e in await list_escalations(store) if e["subject"] in around]
    return EvidenceInput(subject=subject, kind=kind, profile=profile, posts=posts, captures=captures, media=media,
                         custody=custody, bots=bots, escalations=escalations, bank_matches=matches,
                         hash_only=hash_only, custody_head=dict(head) if head else {})


# -- takedown lists -------------------------------------------------------------------------------------

async def gather_takedown(store: Store, config: Any, threshold: float | None = None) -> list[dict[str, Any]]:
    """Takedown items (graph.takedown.items.takedown_items) for what was escalated: subjects that crossed
    [graph] escalation_threshold (threshold None), or that score at least `threshold` now."""
    from graph.takedown.items import takedown_items

    escalations = await escalated_subjects(store, threshold)
    posts = await escalated_posts(store, threshold)
    bots, channels = [], []
    for e in escalations:
        kind, _, name = e["subject"].partition(":")
        if kind == "bot":
            row = await store.fetchone("SELECT first_seen FROM bots WHERE username=?", (name,))
            bots.append(e | {"first_seen": row[0] if row else None})
        elif kind == "channel":
            row = await store.fetchone("SELECT first_seen FROM channels WHERE username=?", (name,))
            channels.append(e | {"first_seen": row[0] if row else None})
    return takedown_items(posts, bots, channels)


def demo_outputs(config: Any, folder: Path) -> list[str]:
    """For `tgsweep demo`: a bundle about the top escalated subject and the takedown list, in `folder`."""
    import asyncio

    from graph.evidence.bundle import write_bundle
    from graph.takedown.items import render_csv

    async def work() -> tuple[EvidenceInput | None, list[dict[str, Any]]]:
        store = await Store.open(config.storage.database)
        try:
            top = await escalated_subjects(store)
            evidence = await gather_evidence(store, config, top[0]["subject"]) if top else None
            return evidence, await gather_takedown(store, config)
        finally:
            await store.close()

    evidence, items = asyncio.run(work())
    folder = Path(folder)
    takedown = folder / "takedown.csv"
    takedown.write_text(render_csv(items), encoding="utf-8")
    lines = [f"takedown list: {len(items)} items ({sum(1 for i in items if i['kind'] == 'post')} post URLs) "
             f"in {takedown}"]
    if evidence is not None:
        bundle = folder / f"evidence-{evidence.subject.replace(':', '-')}.zip"
        digest = write_bundle(evidence, bundle)
        lines.append(f"evidence bundle for {evidence.subject}: {bundle} ({len(evidence.posts)} posts, "
                     f"{len(evidence.captures)} captures, sha256 {digest[:16]}...; "
                     "`tgsweep evidence verify` checks it)")
    return lines
