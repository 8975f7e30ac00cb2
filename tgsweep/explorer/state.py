"""What the explorer's routes share: the state the app is made with, the graph cache, request
models and the checks of names and paths."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import networkx as nx
from fastapi import HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from store.readmodels import ExplorerReadModel
from store.records import now
from tgsweep.config import Config
from tgsweep.explorer import data
from tgsweep.explorer.layout import communities_of, layout
from tgsweep.explorer.thumbs import blurred_thumbnail

log = logging.getLogger("tgsweep.explorer")
SAVED_FORMAT = 1  # of the saved graph; a new one (graph.build changed what a node holds) is rebuilt

STATIC = Path(__file__).with_name("static")
COOKIE = "tgsweep_explorer"
PUBLIC = {"/login", "/static/login.css"}  # all that a visitor without the token gets, exact paths only
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^@?[A-Za-z0-9_]{1,64}$")
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}
HASH_ONLY = ('hash-only mode ([media] keep = "none"): no media bytes are kept, so there is no image; '
             "hashes only")


@dataclass
class ExplorerState:
    """What create_app was given, for the routes (request.app.state.ctx)."""

    config: Config
    settings: Any  # ServeSettings
    cache: "GraphCache"
    thumbs: OrderedDict[str, bytes]
    hash_only: bool
    media_dir: Path


def state(request: Request) -> ExplorerState:
    return request.app.state.ctx


def store_of(request: Request) -> ExplorerReadModel:
    return request.app.state.store


def _session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the token itself is never in a cookie."""
    return hmac.new(token.encode(), b"tgsweep-explorer-session", hashlib.sha256).hexdigest()


class GraphCache:
    """The built graph and its layout, rebuilt when the store changed (its generation).

    Built in a worker thread on a connection of its own, so pages answer while it builds. Each
    build is saved beside the database (`<database>.explorer.pickle`, private); at start the saved
    one is served while the current one is built, so a restarted explorer opens at once."""

    def __init__(self, database: Path | None = None, url: str | None = None) -> None:
        self.database, self.url = database, url
        self.saved = None if database is None else Path(f"{database}.explorer.pickle")
        self.version: int | None = None
        self.graph: nx.MultiDiGraph | None = None
        self.positions: dict[str, tuple[float, float]] = {}
        self.communities: dict[str, int] = {}
        self.notes: list[str] = []
        self.stale = False  # the graph an earlier run saved, served until the current one is built
        self.payloads: OrderedDict[tuple, bytes] = OrderedDict()  # answers per filter, for this version
        self.lock = asyncio.Lock()

    async def load_saved(self, store: ExplorerReadModel) -> bool:
        """At start: the graph the last run saved, if any and readable. Current when the store's
        generation is the one it was built at; else served until the current one is built."""
        if self.saved is None or not self.saved.is_file():
            return False
        async with self.lock:
            try:
                saved = await run_in_threadpool(_read_saved, self.saved)
                graph, positions, communities, at, built_at = (saved["graph"], saved["positions"],
                                                               saved["communities"], saved["saved_at"],
                                                               saved["generation"])
            except Exception as exc:  # a torn or foreign file: build as if there were none
                log.warning("explorer: the saved graph %s is not readable (%s); building it afresh", self.saved, exc)
                return False
            self.graph, self.positions, self.communities = graph, positions, communities
            self.version = await store.generation()
            self.stale = built_at != self.version or saved.get("format") != SAVED_FORMAT
            self.notes = [f"the graph as saved at {at[:16].replace('T', ' ')}; the current one is being built and "
                          "shows on the next load"] if self.stale else []
        return True

    async def get(self, store: ExplorerReadModel) -> "GraphCache":
        if self.stale and self.lock.locked():  # the start-up build runs: the saved graph meanwhile
            return self
        async with self.lock:
            version = await store.generation()  # read before the build: a write meanwhile means another
            if self.graph is None or self.stale or version != self.version:
                graph, notes = (await data.load_graph(store) if self.database is None
                                else await run_in_threadpool(_build_apart, self.database, self.url))
                if set(graph) != set(self.positions):
                    self.communities, self.positions = await run_in_threadpool(_place, graph)
                self.graph, self.notes, self.version, self.stale = graph, notes, version, False
                self.payloads.clear()
                if self.saved is not None and not notes:
                    asyncio.get_running_loop().run_in_executor(None, self._save, graph, self.positions,
                                                               self.communities, version)
        return self

    def _save(self, graph: nx.MultiDiGraph, positions: dict, communities: dict, generation: int) -> None:
        assert self.saved is not None
        part = self.saved.with_name(self.saved.name + ".part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"graph": graph, "positions": positions, "communities": communities, "saved_at": now(),
                             "generation": generation, "format": SAVED_FORMAT}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(part, self.saved)
        except OSError as exc:  # a read-only folder: the explorer works, only its next start is slower
            log.warning("explorer: the graph could not be saved to %s (%s)", self.saved, exc)

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


def _read_saved(path: Path) -> dict[str, Any]:
    from graph.build import no_gc

    with path.open("rb") as f, no_gc():  # the collector would walk the new objects again and again: 5x slower
        return pickle.load(f)  # written by GraphCache only, private, beside the database it describes


def _build_apart(database: Path, url: str | None) -> tuple[nx.MultiDiGraph, list[str]]:
    """data.load_graph on a read connection of this thread's own, off the server's event loop."""
    from store import open_store

    async def build() -> tuple[nx.MultiDiGraph, list[str]]:
        store = await open_store(database, url)
        try:
            return await data.load_graph(store)
        finally:
            await store.close()

    return asyncio.run(build())


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


class NoteIn(BaseModel):
    """A case note on a subject (a graph node, or file:<sha256>), with tags."""

    subject: str = Field(pattern=r"^(channel|bot|media|file):[A-Za-z0-9_]{1,64}$")
    note: str = Field(min_length=1, max_length=4000)
    tags: list[str] = Field(default_factory=list, max_length=20)


class RetryIn(BaseModel):
    ids: list[str] | None = Field(None, description="alert ids; null retries every undelivered alert")


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
