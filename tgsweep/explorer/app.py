"""The explorer's web app: JSON API under /api/, the page under /, guards around both.

Guards, because the store holds evidence about real people:
- bound to 127.0.0.1 unless told otherwise; bound elsewhere it refuses to start without a token;
- a token, when set, is required for every page and API call (`Authorization: Bearer`, or the
  cookie the login form sets) but the login form and its style sheet, matched exactly (StaticFiles
  resolves `..`, so a prefix test would let /static/login/../app.js through); compared in constant
  time; never logged (the access log shows no query strings) or put in a URL;
- on loopback, requests must name a loopback Host (no DNS rebinding from a web page), and any
  POST carrying an Origin must come from the explorer itself (no cross-site requests);
- media are previewed blurred; the original bytes only on an explicit per-item request; in
  hash-only mode (`[media] keep = "none"`) there is no image at all; bytes are read only from
  under `[storage] media_dir`, whatever path a (tampered) media row names.
"""
from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import ipaddress
import json
import logging
import re
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Literal
from urllib.parse import parse_qs, urlsplit

import networkx as nx
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from store.sqlite import Store
from tgsweep.config import Config, Serve, default
from tgsweep.explorer import data
from tgsweep.explorer.layout import communities_of, layout
from tgsweep.explorer.thumbs import NotAPicture, blurred_thumbnail

log = logging.getLogger("tgsweep.explorer")
STATIC = Path(__file__).with_name("static")
COOKIE = "tgsweep_explorer"
PUBLIC = {"/login", "/static/login.css"}  # all that a visitor without the token gets, exact paths only
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^@?[A-Za-z0-9_]{1,64}$")
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}
HASH_ONLY = ('hash-only mode ([media] keep = "none"): no media bytes are kept, so there is no image; '
             "hashes only")


@dataclass(frozen=True)
class ServeSettings:
    """`[serve]` with the command line's overrides applied."""

    host: str = default(Serve, "host")
    port: int = default(Serve, "port")
    token: str | None = None
    blur: float = default(Serve, "blur")
    analyst: str = default(Serve, "analyst")
    max_nodes: int = default(Serve, "max_nodes")

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def who(self) -> str:
        return self.analyst or getpass.getuser()


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def settings_from(config: Config, host: str | None = None, port: int | None = None, token: str | None = None,
                  analyst: str | None = None) -> ServeSettings:
    serve = config.serve
    secret = serve.token.get_secret_value() if serve.token is not None else None
    return ServeSettings(host=host or serve.host, port=port if port is not None else serve.port,
                         token=token or secret or None, blur=serve.blur, analyst=analyst or serve.analyst,
                         max_nodes=serve.max_nodes)


class UnsafeBinding(ValueError):
    """Bound beyond loopback without a token."""


def check_binding(settings: ServeSettings) -> None:
    if not settings.loopback and not settings.token:
        raise UnsafeBinding(f"refusing to serve on {settings.host} without a token: anyone who can reach it would "
                            "see the store. Set $TGSWEEP_TOKEN, pass --token-file PATH, set [serve] token_file "
                            "(or token = \"${TGSWEEP_SERVE_TOKEN}\"), or bind to 127.0.0.1")


def _session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the token itself is never in a cookie."""
    return hmac.new(token.encode(), b"tgsweep-explorer-session", hashlib.sha256).hexdigest()


class GraphCache:
    """The built graph and its layout, rebuilt when the database changed (SQLite's data_version)."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.graph: nx.MultiDiGraph | None = None
        self.positions: dict[str, tuple[float, float]] = {}
        self.communities: dict[str, int] = {}
        self.notes: list[str] = []
        self.payloads: OrderedDict[tuple, bytes] = OrderedDict()  # answers per filter, for this version
        self.lock = asyncio.Lock()

    async def get(self, store: Store) -> "GraphCache":
        async with self.lock:
            version = await store.data_version()
            if self.graph is None or version != self.version:
                graph, notes = await data.load_graph(store)
                if set(graph) != set(self.positions):
                    self.communities, self.positions = await run_in_threadpool(_place, graph)
                self.graph, self.notes, self.version = graph, notes, version
                self.payloads.clear()
        return self

    def answer(self, key: tuple, make: Any, version: int | None) -> bytes:
        """The serialised /api/graph answer for these filters, made once per database version."""
        body = self.payloads.get(key)
        if body is None:
            body = make()
            if version == self.version:  # not if the graph was rebuilt meanwhile
                self.payloads[key] = body
            while len(self.payloads) > 16:
                self.payloads.popitem(last=False)
        return body


def _place(graph: nx.MultiDiGraph) -> tuple[dict[str, int], dict[str, tuple[float, float]]]:
    given = {n: a["community"] for n, a in graph.nodes(data=True) if a.get("community") is not None}
    simple = nx.Graph(graph.to_undirected(as_view=True)) if graph.number_of_nodes() else nx.Graph()
    communities = given if len(given) == graph.number_of_nodes() else {**communities_of(simple), **given}
    return communities, layout(simple.nodes, simple.edges, communities)


class OverrideIn(BaseModel):
    """An analyst's decision on a bot: confirm (deepfake_generator) or reject (benign), with a note."""

    decision: Literal["confirm", "reject"] | None = None
    label: Literal["deepfake_generator", "benign"] | None = None
    note: str = Field(min_length=1, max_length=2000, description="why; kept with the decision")


class RetryIn(BaseModel):
    ids: list[str] | None = Field(None, description="alert ids; null retries every undelivered alert")


def create_app(config: Config, settings: ServeSettings | None = None, prewarm: bool = True) -> FastAPI:
    """The explorer over `config`'s store. The store opens when the app starts (lifespan)."""
    settings = settings or settings_from(config)
    check_binding(settings)
    hash_only = config.media.keep == "none"
    media_dir = config.storage.media_dir
    cache = GraphCache()
    thumbs: OrderedDict[str, bytes] = OrderedDict()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await Store.open(config.storage.database)
        app.state.store = store
        warm = asyncio.create_task(_prewarm(cache, store)) if prewarm else None
        try:
            yield
        finally:
            if warm is not None and not warm.done():
                warm.cancel()
            await store.close()

    app = FastAPI(title="tgsweep explorer", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The analyst's explorer over the tgsweep store: graph, channels, bots, media "
                              "(hashes and blurred previews), alerts. Served by `tgsweep serve`.")
    if not settings.loopback:  # over a network a 10 MB graph is worth compressing; on loopback it is not
        app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)

    def store_of(request: Request) -> Store:
        return request.app.state.store

    def authorized(request: Request) -> bool:
        if not settings.token:
            return True
        given = request.headers.get("authorization", "")
        if given.lower().startswith("bearer ") and hmac.compare_digest(given[7:].strip().encode(),
                                                                       settings.token.encode()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), _session_value(settings.token).encode())

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        host = request.headers.get("host", "")
        if settings.loopback and not is_loopback(re.sub(r":\d+$", "", host)):
            return JSONResponse({"detail": "this explorer answers to loopback host names only"}, status_code=400)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc != host:
                return JSONResponse({"detail": "cross-site request refused"}, status_code=403)
        path = request.url.path
        if path not in PUBLIC and not authorized(request):
            if path.startswith("/api/") or path == "/openapi.json":
                return JSONResponse({"detail": "a token is required (Authorization: Bearer <token>)"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return RedirectResponse("/login", status_code=303)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        if path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # -- pages ----------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/login", include_in_schema=False)
    async def login_form() -> Response:
        if not settings.token:
            return RedirectResponse("/", status_code=303)
        return FileResponse(STATIC / "login.html")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not settings.token:
            return RedirectResponse("/", status_code=303)
        given = parse_qs((await request.body()).decode("utf-8", "replace")).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            log.warning("explorer: a login with a wrong token from %s", request.client.host if request.client else "?")
            return HTMLResponse("wrong token. <a href='/login'>try again</a>", status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, _session_value(settings.token), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- API ----------------------------------------------------------------------------------------------

    @app.get("/api/info", summary="the explorer's settings a page needs")
    async def info(request: Request) -> dict[str, Any]:
        return {"analyst": settings.who, "hash_only": hash_only, "blur": settings.blur,
                "max_nodes": settings.max_nodes, "database": str(config.storage.database.name)}

    @app.get("/api/graph", summary="nodes and edges, filtered; positions precomputed on the server",
             responses={200: {"content": {"application/json": {}}, "description":
                              "nodes [{id, kind, label, name, escalation, community, first_seen, last_seen, x, y}], "
                              "edges [{source, target, kind, count, first_seen, last_seen}], total_nodes, "
                              "total_edges, truncated, communities [[id, size]], notes"}})
    async def graph(request: Request,
                    min_escalation: float = Query(0.0, ge=0, le=1, description="only nodes escalated at least this"),
                    community: int | None = Query(None, description="only this community"),
                    kind: list[str] | None = Query(None, description="node kinds: channel, bot, media, account"),
                    since: str | None = Query(None, description="ISO date: active on or after"),
                    until: str | None = Query(None, description="ISO date: active on or before"),
                    limit: int | None = Query(None, ge=1, description="nodes at most (default [serve] max_nodes)"),
                    compact: bool = Query(False, description="leave out first_seen/last_seen (the page's request)"),
                    ) -> Response:
        kinds = [k for part in kind or [] for k in part.split(",") if k]
        unknown = sorted(set(kinds) - set(data.KINDS))
        if unknown:
            raise HTTPException(422, f"unknown kind {', '.join(unknown)} (expected {', '.join(data.KINDS)})")
        built = await cache.get(store_of(request))
        cap = min(limit or settings.max_nodes, settings.max_nodes)
        key = (min_escalation, community, tuple(sorted(kinds)), since, until, cap, compact)

        graph_now, positions, communities, version = built.graph, built.positions, built.communities, built.version

        def make() -> bytes:
            payload = data.graph_payload(graph_now, positions, communities,
                                         min_escalation=min_escalation, community=community, kinds=kinds or None,
                                         since=since, until=until, max_nodes=cap, compact=compact)
            payload["notes"] = built.notes
            # Serialised here, not by FastAPI's encoder: it takes seconds on 60,000 dicts, json.dumps a tenth.
            return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

        body = built.payloads.get(key) or await run_in_threadpool(built.answer, key, make, version)
        return Response(body, media_type="application/json")

    @app.get("/api/channels/{username}", summary="a channel: profile, activity, forwards, bots, media, reasons")
    async def channel(request: Request, username: str) -> dict[str, Any]:
        _check_name(username)
        found = await data.channel_detail(store_of(request), username, images=not hash_only)
        if found is None:
            raise HTTPException(404, f"no channel {username} in the store")
        return found

    @app.get("/api/bots", summary="every bot with its verdicts (as `tgsweep bots list --json`)")
    async def bots(request: Request) -> list[dict[str, Any]]:
        return await data.list_bot_rows(store_of(request))

    @app.get("/api/bots/{username}", summary="a bot: profile, verdict, overrides, mirrors, promoters and codes")
    async def bot(request: Request, username: str) -> dict[str, Any]:
        _check_name(username)
        found = await data.bot_detail(store_of(request), username)
        if found is None:
            raise HTTPException(404, f"no bot {username} in the store")
        return found

    @app.post("/api/bots/{username}/override", summary="confirm or reject a bot (the same as `tgsweep bots label`)")
    async def override(request: Request, username: str, body: OverrideIn) -> dict[str, Any]:
        from detectors.bots.stage import set_override
        from store.alerts import alert_settings

        _check_name(username)
        label = body.label or {"confirm": "deepfake_generator", "reject": "benign"}.get(body.decision or "")
        if label is None:
            raise HTTPException(422, "give decision (confirm or reject) or label (deepfake_generator or benign)")
        store = store_of(request)
        if await data.bot_detail(store, username) is None:
            raise HTTPException(404, f"no bot {username} in the store")
        done = await set_override(store, username, label, body.note.strip(), settings.who, alert_settings(config))
        log.info("explorer: @%s labelled %s by %s", done["username"], label, done["by"])
        return done | {"bot": await data.bot_detail(store, username)}

    @app.get("/api/media/{sha256}", summary="a media file: hashes, cluster, bank matches, appearances")
    async def media(request: Request, sha256: str) -> dict[str, Any]:
        found = await data.media_detail(store_of(request), _check_sha(sha256), images=not hash_only)
        if found is None:
            raise HTTPException(404, f"no media {sha256} in the store")
        return found

    @app.get("/api/media/{sha256}/image", summary="a blurred preview; the original only with unblur=1",
             responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "hash-only mode, or no bytes"}})
    async def image(request: Request, sha256: str,
                    unblur: bool = Query(False, description="the original bytes, unblurred (an explicit request)"),
                    ) -> Response:
        if hash_only:
            raise HTTPException(404, HASH_ONLY)
        sha256 = _check_sha(sha256)
        row = await store_of(request).kept_media(sha256)
        if row is None:
            raise HTTPException(404, f"no media {sha256} in the store")
        file = _kept_file(media_dir, row["path"]) if row["path"] else None
        if row["path"] and file is None:
            log.warning("explorer: media %s not served: its stored path %r is outside the media folder %s",
                        sha256, row["path"][:200], media_dir)
        if file is None or not file.is_file():
            raise HTTPException(404, "the bytes of this file are not kept (hash-only when it was collected, or "
                                     "removed); hashes only")
        headers = {"Cache-Control": "no-store"}
        if unblur:
            log.info("explorer: media %s shown unblurred to %s", sha256, settings.who)
            # Raster pictures inline; anything else (an SVG could carry script) only as a download.
            mime = row["mime"] if row["mime"] in INLINE_TYPES else "application/octet-stream"
            return Response(await run_in_threadpool(file.read_bytes), media_type=mime,
                            headers=headers | {"Content-Disposition": "inline" if mime in INLINE_TYPES
                                               else f'attachment; filename="{sha256}"'})
        key = f"{sha256}:{settings.blur}"
        preview = thumbs.get(key)
        if preview is None:
            try:
                preview = await run_in_threadpool(_blur_file, file, settings.blur, config.media.max_pixels)
            except NotAPicture as exc:
                raise HTTPException(415, str(exc)) from None
            thumbs[key] = preview
            while len(thumbs) > 512:
                thumbs.popitem(last=False)
        return Response(preview, media_type="image/jpeg", headers=headers | {"X-Preview": "blurred"})

    @app.get("/api/clusters/{cluster}", summary="a repost cluster (media:<id> node): files, channels, matches")
    async def cluster(request: Request, cluster: str) -> dict[str, Any]:
        if not re.fullmatch(r"[0-9a-f]{1,64}", cluster):
            raise HTTPException(422, "a cluster id is hex")
        found = await data.cluster_detail(store_of(request), cluster, images=not hash_only)
        if found is None:
            raise HTTPException(404, f"no cluster {cluster} in the store")
        return found

    @app.get("/api/alerts", summary="alerts with their delivery state")
    async def alerts(request: Request) -> dict[str, Any]:
        rows, notes = await data.alerts(store_of(request))
        return {"alerts": rows, "notes": notes}

    @app.post("/api/alerts/retry", summary="queue alerts for another delivery attempt")
    async def retry(request: Request, body: RetryIn) -> dict[str, Any]:
        return {"queued": await data.retry(store_of(request), body.ids)}

    return app


async def _prewarm(cache: GraphCache, store: Store) -> None:
    """Build the graph and its layout at start, so the first page does not wait for it."""
    try:
        await cache.get(store)
    except asyncio.CancelledError:
        raise
    except Exception:  # the first request will try again and show the error
        log.exception("explorer: building the graph at start failed")


def _kept_file(media_dir: Path, stored: str) -> Path | None:
    """The file a media row names, if it resolves (links followed) to somewhere under media_dir; else None."""
    root = media_dir.resolve()
    try:
        file = (root / stored).resolve()
    except (OSError, ValueError):  # a NUL byte, a link loop
        return None
    return file if file != root and file.is_relative_to(root) else None


def _blur_file(file: Path, radius: float, max_pixels: int) -> bytes:
    return blurred_thumbnail(file.read_bytes(), radius, max_pixels)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise HTTPException(422, f"{name!r} is not a username")


def _check_sha(value: str) -> str:
    value = value.lower()
    if not _SHA256.match(value):
        raise HTTPException(422, "a SHA-256 is 64 hex digits")
    return value


class PathOnlyAccessLog(logging.Filter):
    """uvicorn's access log lines without their query strings: a token pasted as ?token= is not written."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].partition("?")[0], *args[3:])
        return True


def serve(config: Config, settings: ServeSettings) -> None:
    """Run the explorer with uvicorn until stopped (Ctrl-C).

    log_config=None: uvicorn's records go to our root handler (tgsweep/logs.py, which scrubs secrets)
    instead of handlers of its own.
    """
    import uvicorn

    app = create_app(config, settings)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, PathOnlyAccessLog) for f in access.filters):
        access.addFilter(PathOnlyAccessLog())
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", server_header=False,
                proxy_headers=False, log_config=None)
