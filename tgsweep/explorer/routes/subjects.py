"""Channels, bots (with the analyst's decisions), media files and repost clusters."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from store.readmodels import CHANNEL_SORTS, POST_SORTS, QueueFilter
from tgsweep.explorer import data
from tgsweep.explorer.state import (
    HASH_ONLY,
    INLINE_TYPES,
    NoteIn,
    OverrideIn,
    _blur_file,
    _check_name,
    _check_sha,
    _kept_file,
    state,
    store_of,
)
from tgsweep.explorer.thumbs import NotAPicture

log = logging.getLogger("tgsweep.explorer")

router = APIRouter()


@router.get("/api/channels/{username}", summary="a channel: profile, activity, forwards, bots, media, reasons")
async def channel(request: Request, username: str) -> dict[str, Any]:
    ctx = state(request)
    _check_name(username)
    found = await data.channel_detail(store_of(request), username, images=not ctx.hash_only)
    if found is None:
        raise HTTPException(404, f"no channel {username} in the store")
    return found


ORDER = Query("desc", pattern="^(asc|desc)$", description="desc (the default) or asc")
POST_SORT = Query("date", pattern=f"^({'|'.join(POST_SORTS)})$", description="date, views or forwards")


@router.get("/api/channels", summary="a page of the channels, sorted (escalation, posts, last post, subscribers...)")
async def channels(request: Request,
                   sort: str = Query("escalation", pattern=f"^({'|'.join(CHANNEL_SORTS)})$"), order: str = ORDER,
                   offset: int = Query(0, ge=0), limit: int = Query(data.POSTS_PAGE, ge=1, le=500),
                   watched: bool | None = Query(None, description="only watched (true) or only discovered (false)"),
                   ) -> dict[str, Any]:
    return await data.channels_page(store_of(request), sort, order == "desc", offset, limit, watched)


@router.get("/api/channels/{username}/posts", summary="a page of the channel's posts, newest first or sorted")
async def channel_posts(request: Request, username: str, offset: int = Query(0, ge=0),
                        limit: int = Query(data.POSTS_PAGE, ge=1, le=500), sort: str = POST_SORT,
                        order: str = ORDER) -> dict[str, Any]:
    _check_name(username)
    return await data.posts_page(store_of(request), "channel", username, offset, limit, sort, order == "desc")


@router.get("/api/bots/{username}/posts", summary="a page of the posts that reference the bot, newest first or sorted")
async def bot_posts(request: Request, username: str, offset: int = Query(0, ge=0),
                    limit: int = Query(data.POSTS_PAGE, ge=1, le=500), sort: str = POST_SORT,
                    order: str = ORDER) -> dict[str, Any]:
    _check_name(username)
    return await data.posts_page(store_of(request), "bot", username, offset, limit, sort, order == "desc")


@router.get("/api/bots", summary="every bot with its verdicts (as `tgsweep bots list --json`), sorted; a page of "
                                 "them with offset/limit (the total in X-Total-Count)")
async def bots(request: Request, response: Response,
               sort: str = Query("score", pattern=f"^({'|'.join(data.BOT_SORTS)})$"), order: str = ORDER,
               offset: int = Query(0, ge=0), limit: int | None = Query(None, ge=1, le=5000)) -> list[dict[str, Any]]:
    rows = await data.list_bot_rows(store_of(request), sort, order == "desc")
    response.headers["X-Total-Count"] = str(len(rows))
    return rows[offset:None if limit is None else offset + limit]


@router.get("/api/bots/{username}", summary="a bot: profile, verdict, overrides, mirrors, promoters and codes")
async def bot(request: Request, username: str) -> dict[str, Any]:
    _check_name(username)
    found = await data.bot_detail(store_of(request), username)
    if found is None:
        raise HTTPException(404, f"no bot {username} in the store")
    return found


@router.post("/api/bots/{username}/override", summary="confirm or reject a bot (the same as `tgsweep bots label`); "
             "the bot and the channels promoting it are re-scored in the same request")
async def override(request: Request, username: str, body: OverrideIn) -> dict[str, Any]:
    ctx = state(request)
    from graph.stage import decide_bot

    _check_name(username)
    label = body.label or {"confirm": "deepfake_generator", "reject": "benign"}.get(body.decision or "")
    if label is None:
        raise HTTPException(422, "give decision (confirm or reject) or label (deepfake_generator or benign)")
    store = store_of(request)
    if await data.bot_detail(store, username) is None:
        raise HTTPException(404, f"no bot {username} in the store")
    built = await ctx.cache.get(store)
    async with built.lock:  # the cached graph is patched with the new label while it is re-scored
        done = await decide_bot(store, ctx.config, username, label, body.note.strip(), ctx.settings.who,
                                graph=built.graph)
    await store.record_audit(ctx.settings.who, "decision", f"bot:{username}", {"label": label, "note": body.note.strip()})
    log.info("explorer: @%s labelled %s by %s", done["username"], label, done["by"])
    return done | {"bot": await data.bot_detail(store, username)}


@router.get("/api/media/{sha256}", summary="a media file: hashes, cluster, bank matches, appearances")
async def media(request: Request, sha256: str) -> dict[str, Any]:
    ctx = state(request)
    found = await data.media_detail(store_of(request), _check_sha(sha256), images=not ctx.hash_only)
    if found is None:
        raise HTTPException(404, f"no media {sha256} in the store")
    return found


@router.get("/api/media/{sha256}/image", summary="a blurred preview; the original only with unblur=1",
         responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "hash-only mode, or no bytes"}})
async def image(request: Request, sha256: str,
                unblur: bool = Query(False, description="the original bytes, unblurred (an explicit request)"),
                ) -> Response:
    ctx = state(request)
    if ctx.hash_only:
        raise HTTPException(404, HASH_ONLY)
    sha256 = _check_sha(sha256)
    row = await store_of(request).kept_media(sha256)
    if row is None:
        raise HTTPException(404, f"no media {sha256} in the store")
    file = _kept_file(ctx.media_dir, row["path"]) if row["path"] else None
    if row["path"] and file is None:
        log.warning("explorer: media %s not served: its stored path %r is outside the media folder %s",
                    sha256, row["path"][:200], ctx.media_dir)
    if file is None or not file.is_file():
        raise HTTPException(404, "the bytes of this file are not kept (hash-only when it was collected, or "
                                 "removed); hashes only")
    headers = {"Cache-Control": "no-store"}
    if unblur:  # recorded in the store, under the repost cluster when the file has one
        subject = f"media:{row['cluster']}" if row["cluster"] else f"file:{sha256}"
        await store_of(request).record_audit(ctx.settings.who, "reveal", subject, {"sha256": sha256})
        log.info("explorer: media %s shown unblurred to %s", sha256, ctx.settings.who)
        # Raster pictures inline; anything else (an SVG could carry script) only as a download.
        mime = row["mime"] if row["mime"] in INLINE_TYPES else "application/octet-stream"
        return Response(await run_in_threadpool(file.read_bytes), media_type=mime,
                        headers=headers | {"Content-Disposition": "inline" if mime in INLINE_TYPES
                                           else f'attachment; filename="{sha256}"'})
    key = f"{sha256}:{ctx.settings.blur}"
    preview = ctx.thumbs.get(key)
    if preview is None:
        try:
            preview = await run_in_threadpool(_blur_file, file, ctx.settings.blur, ctx.config.media.max_pixels)
        except NotAPicture as exc:
            raise HTTPException(415, str(exc)) from None
        ctx.thumbs[key] = preview
        while len(ctx.thumbs) > 512:
            ctx.thumbs.popitem(last=False)
    return Response(preview, media_type="image/jpeg", headers=headers | {"X-Preview": "blurred"})


@router.get("/api/clusters/{cluster}", summary="a repost cluster (media:<id> node): files, channels, matches")
async def cluster(request: Request, cluster: str) -> dict[str, Any]:
    ctx = state(request)
    if not re.fullmatch(r"[0-9a-f]{1,64}", cluster):
        raise HTTPException(422, "a cluster id is hex")
    found = await data.cluster_detail(store_of(request), cluster, images=not ctx.hash_only)
    if found is None:
        raise HTTPException(404, f"no cluster {cluster} in the store")
    return found


@router.post("/api/notes", summary="a case note with tags on a subject (recorded with who and when)")
async def add_note(request: Request, body: NoteIn) -> dict[str, Any]:
    ctx = state(request)
    tags = sorted({t.strip().lower() for t in body.tags if t.strip()})
    entry = await store_of(request).record_audit(ctx.settings.who, "note", body.subject,
                                                 {"note": body.note.strip(), "tags": tags})
    return {"id": entry, "subject": body.subject, "who": ctx.settings.who}


@router.get("/api/audit", summary="a subject's case notes and the record of reveals, decisions and exports")
async def audit(request: Request, subject: str = Query(pattern=r"^(channel|bot|media|file):[A-Za-z0-9_]{1,64}$"),
                limit: int = Query(200, ge=1, le=5000)) -> list[dict[str, Any]]:
    return await store_of(request).audit_entries(subject, limit)


@router.get("/api/search", summary="channels, bots, repost clusters (bank, label, hash prefix) and posts matching q")
async def search(request: Request, q: str = Query(min_length=2, max_length=200),
                 limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
    return await data.search(store_of(request), q, limit)


@router.get("/api/known", summary="known content found: bank matches by bank, label and repost cluster")
async def known(request: Request, bank: str | None = Query(None, max_length=64),
                limit: int = Query(data.MAX_ROWS, ge=1, le=5000)) -> list[dict[str, Any]]:
    ctx = state(request)
    return await data.known_content(store_of(request), bank, images=not ctx.hash_only, limit=limit)


@router.get("/api/queue", summary="the queue: scored subjects, most escalated first, filtered and paged")
async def queue(request: Request, kind: str | None = Query(None, pattern="^(channel|bot|media)$"),
                min_score: float = Query(0.0, ge=0, le=1), community: int | None = Query(None),
                since: str | None = Query(None, max_length=40, description="first escalated on or after (ISO 8601)"),
                label: str | None = Query(None, pattern="^(deepfake_generator|unknown|benign)$",
                                          description="bots with this label"),
                bank: str | None = Query(None, max_length=64, description="clusters and channels with a match in it"),
                sort: str = Query("score", pattern="^(score|escalated|pagerank)$"),
                offset: int = Query(0, ge=0), limit: int = Query(data.POSTS_PAGE, ge=1, le=500)) -> dict[str, Any]:
    wanted = QueueFilter(kind, min_score, community, since or None, label, bank or None)
    return await data.queue(store_of(request), wanted, sort, offset, limit)


@router.get("/api/changes", summary="what changed since a time (the analyst's last visit): escalations, alerts, "
                                    "bank matches, other analysts' decisions and notes, channels discovered")
async def changes(request: Request, since: datetime = Query(description="ISO 8601 time, e.g. the last visit"),
                  limit: int = Query(10, ge=1, le=200)) -> dict[str, Any]:
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return await data.changes(store_of(request), since, state(request).settings.who, limit)


@router.post("/api/reviewed", summary="mark a subject reviewed, with a note (kept in its audit trail)")
async def reviewed(request: Request, body: NoteIn) -> dict[str, Any]:
    ctx = state(request)
    entry = await store_of(request).record_audit(ctx.settings.who, "reviewed", body.subject, {"note": body.note.strip()})
    return {"id": entry, "subject": body.subject, "who": ctx.settings.who}


@router.get("/api/evidence", summary="an evidence bundle (ZIP) of a subject, as `tgsweep evidence export` writes it",
            responses={200: {"content": {"application/zip": {}}}, 404: {"description": "no such subject"}})
async def evidence(request: Request, subject: str = Query(pattern=r"^(channel|bot|media):[A-Za-z0-9_]{1,64}$")) -> Response:
    import shutil
    import tempfile
    from pathlib import Path

    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    from graph.evidence.bundle import write_bundle
    from graph.evidence.gather import SubjectError, gather_evidence

    ctx = state(request)
    store = store_of(request)
    try:
        gathered = await gather_evidence(store, ctx.config, subject)
    except SubjectError as exc:
        raise HTTPException(404, str(exc)) from None
    folder = Path(tempfile.mkdtemp(prefix="tgsweep-evidence-"))
    target = folder / f"evidence-{subject.replace(':', '-')}.zip"
    digest = await run_in_threadpool(write_bundle, gathered, target)
    await store.record_audit(ctx.settings.who, "export", gathered.subject, {"format": "zip", "sha256": digest,
                                                                           "from": "explorer"})
    return FileResponse(target, media_type="application/zip", filename=target.name,
                        headers={"X-Bundle-SHA256": digest, "Cache-Control": "no-store"},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
