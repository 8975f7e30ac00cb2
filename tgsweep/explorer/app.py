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
import hmac
import ipaddress
import logging
import re
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from store import open_store
from store.sqlite import Store  # the type; open_store may give the PostgreSQL one (same interfaces)
from tgsweep.config import Config, Serve, default
from tgsweep.explorer.routes import alerts, graph, pages, subjects
from tgsweep.explorer.state import COOKIE, PUBLIC, STATIC, ExplorerState, GraphCache, _session_value

log = logging.getLogger("tgsweep.explorer")



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


def create_app(config: Config, settings: ServeSettings | None = None, prewarm: bool = True) -> FastAPI:
    """The explorer over `config`'s store. The store opens when the app starts (lifespan)."""
    settings = settings or settings_from(config)
    check_binding(settings)
    hash_only = config.media.keep == "none"
    media_dir = config.storage.media_dir
    cache = GraphCache(config.storage.database, config.storage.url_value)
    thumbs: OrderedDict[str, bytes] = OrderedDict()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await open_store(config.storage.database, config.storage.url_value)
        app.state.store = store
        warm = asyncio.create_task(_prewarm(app.state.ctx, store)) if prewarm else None
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
        # same-origin, not no-referrer: under no-referrer a browser posts the login form with `Origin: null`,
        # which the cross-site check above refuses; same-origin still sends nothing to other sites
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        if path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.state.ctx = ExplorerState(config, settings, cache, thumbs, hash_only, media_dir)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for area in (graph, subjects, alerts):
        app.include_router(area.router)
    return app














async def _prewarm(ctx: ExplorerState, store: Store) -> None:
    """The graph and its layout at start (the one saved by the last run, rebuilt if the store moved on),
    and the landing view's answer, so the first page does not wait for them."""
    from tgsweep.explorer.routes.graph import graph_answer

    try:
        await ctx.cache.load_saved(store)
        # what the graph page asks first (app.js filterParams with its defaults)
        await graph_answer(ctx, await ctx.cache.get(store), compact=True, focus="escalated", hops=1)
    except asyncio.CancelledError:
        raise
    except Exception:  # the first request will try again and show the error
        log.exception("explorer: building the graph at start failed")


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
