"""The I/O edge of evidence bundles and takedown lists: read what a subject touches from the store.

graph/evidence/bundle.py and graph/takedown/items.py are pure; this module reads rows and bytes (raw
captures through Store.read_capture, media files from `[storage] media_dir`) and hands
them over. Escalations come from graph.escalation (interface 3: `list_escalations`,
`escalated_posts`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.escalation import escalated_posts, escalated_subjects, list_escalations
from graph.evidence.bundle import EvidenceInput
from graph.evidence.bundle import sha256 as file_sha256
from graph.exports import export_messages
from store.evidence import EvidenceStore


class SubjectError(ValueError):
    """The subject names nothing in the store (the message says what was looked for)."""


# -- subjects ------------------------------------------------------------------------------------------

async def resolve_subject(store: EvidenceStore, given: str) -> tuple[str, str, str]:
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
        kind = "bot" if await store.known_as_bot(name) else "channel"
    if not await store.subject_exists(kind, name):
        raise SubjectError(f"{kind}:{name} is not in the store (no posts, profile or cluster by that name)")
    return f"{kind}:{name}", kind, name


async def _subject_posts(store: EvidenceStore, kind: str, name: str) -> list[dict[str, Any]]:
    if kind == "channel":
        keys = None
        channels = [name]
    else:
        keys = await store.subject_post_keys(kind, name)
        channels = sorted({c for c, _ in keys})
    if not channels:
        return []
    return [m async for m in export_messages(store, channels) if keys is None or (m["channel"], m["id"]) in keys]


async def _entity_captures(store: EvidenceStore, name: str) -> list[str]:
    """Raw captures of the subject's own entity page (t.me/<name>), whatever base URL fetched them."""
    return [digest for digest, url in await store.entity_page_captures(name)
            if url.rstrip("/").rsplit("/", 1)[-1].lower() == name]


async def gather_evidence(store: EvidenceStore, config: Any, given: str) -> EvidenceInput:
    """Everything a bundle about `given` holds, read from the store and media_dir."""
    subject, kind, name = await resolve_subject(store, given)
    posts = await _subject_posts(store, kind, name)
    profile = await store.subject_profile(kind, name)

    digests = {p["capture_sha256"] for p in posts if p.get("capture_sha256")}
    if kind in ("bot", "channel"):
        digests |= set(await _entity_captures(store, name))
    keys = [(p["channel"], p["id"]) for p in posts]
    if keys:
        wanted = set(keys)
        for channel, post_id, digest in await store.takedown_captures():
            if (channel, post_id) in wanted:
                digests.add(digest)
    captures = []
    for digest in sorted(digests):
        meta = await store.capture_meta(digest)
        if meta is not None:
            captures.append(meta | {"content": await store.read_capture(digest)})

    media_hashes = {m[k] for p in posts for m in p.get("media") or [] for k in ("sha256", "thumb_sha256") if m.get(k)}
    if kind == "media":
        media_hashes |= await store.cluster_files(name)
    hash_only = config.media.keep == "none"
    media = []
    for digest in sorted(media_hashes):
        row = await store.media_file(digest)
        if row is None:
            continue
        item = row | {"content": None}
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
    custody = await store.custody_entries(logged)
    head = await store.custody_head()

    matches = []
    for digest in sorted(media_hashes):
        matches += await store.file_bank_matches(digest)

    from detectors.bots.stage import list_bots

    involved = {b for p in posts for b in p.get("bot_refs") or []} | ({name} if kind == "bot" else set())
    bots = [b for b in await list_bots(store) if b["username"] in involved]
    around = {subject} | {f"channel:{p['channel']}" for p in posts} | {f"bot:{b}" for b in involved}
    around |= {f"media:{m['cluster']}" for m in media if m.get("cluster")}
    escalations = [e for e in await list_escalations(store) if e["subject"] in around]
    return EvidenceInput(subject=subject, kind=kind, profile=profile, posts=posts, captures=captures, media=media,
                         custody=custody, bots=bots, escalations=escalations, bank_matches=matches,
                         hash_only=hash_only, custody_head=head)


# -- takedown lists -------------------------------------------------------------------------------------

async def gather_takedown(store: EvidenceStore, config: Any, threshold: float | None = None) -> list[dict[str, Any]]:
    """Takedown items (graph.takedown.items.takedown_items) for what was escalated: subjects that crossed
    [graph] escalation_threshold (threshold None), or that score at least `threshold` now."""
    from graph.takedown.items import takedown_items

    escalations = await escalated_subjects(store, threshold)
    posts = await escalated_posts(store, threshold)
    bots, channels = [], []
    for e in escalations:
        kind, _, name = e["subject"].partition(":")
        if kind == "bot":
            bots.append(e | {"first_seen": await store.first_seen(kind, name)})
        elif kind == "channel":
            channels.append(e | {"first_seen": await store.first_seen(kind, name)})
    return takedown_items(posts, bots, channels)
