"""What the explorer's routes share: the state the app is made with, the graph cache, request
models and the checks of names and paths."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
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
from tgsweep.config import Config
from tgsweep.explorer import data
from tgsweep.explorer.layout import communities_of, layout
from tgsweep.explorer.thumbs import blurred_thumbnail

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
    """The built graph and its layout, rebuilt when the database changed (SQLite's data_version)."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.graph: nx.MultiDiGraph | None = None
        self.positions: dict[str, tuple[float, float]] = {}
        self.communities: dict[str, int] = {}
        self.notes: list[str] = []
        self.payloads: OrderedDict[tuple, bytes] = OrderedDict()  # answers per filter, for this version
        self.lock = asyncio.Lock()

    async def get(self, store: ExplorerReadModel) -> "GraphCache":
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
