"""The graph: the explorer's settings a page needs, nodes and edges filtered, positions precomputed."""
from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tgsweep.explorer import data
from tgsweep.explorer.state import ExplorerState, GraphCache, state, store_of

log = logging.getLogger("tgsweep.explorer")

router = APIRouter()


@router.get("/api/info", summary="the explorer's settings a page needs")
async def info(request: Request) -> dict[str, Any]:
    ctx = state(request)
    return {"analyst": ctx.settings.who, "hash_only": ctx.hash_only, "blur": ctx.settings.blur,
            "max_nodes": ctx.settings.max_nodes, "database": str(ctx.config.storage.database.name)}


@router.get("/api/graph", summary="nodes and edges, filtered; positions precomputed on the server",
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
                focus: str | None = Query(None, max_length=200, description="escalated (the escalated subjects "
                                          "and their neighbourhood) or a node id (its ego network)"),
                hops: int = Query(1, ge=0, le=4, description="how far from the focus"),
                format: str = Query("json", pattern="^(json|gexf)$", description="gexf: this view as a GEXF file"),
                ) -> Response:
    ctx = state(request)
    kinds = [k for part in kind or [] for k in part.split(",") if k]
    unknown = sorted(set(kinds) - set(data.KINDS))
    if unknown:
        raise HTTPException(422, f"unknown kind {', '.join(unknown)} (expected {', '.join(data.KINDS)})")
    built = await ctx.cache.get(store_of(request))
    body = await graph_answer(ctx, built, min_escalation=min_escalation, community=community, kinds=kinds, since=since,
                              until=until, limit=limit, compact=compact, focus=focus, hops=hops)
    if format == "gexf":  # the view as the analyst sees it, for Gephi
        gexf = await run_in_threadpool(data.view_gexf, json.loads(body))
        await store_of(request).record_audit(ctx.settings.who, "export", focus or "graph", {
            "format": "gexf", "nodes": gexf[1], "query": str(request.url.query)})
        return Response(gexf[0], media_type="application/gexf+xml",
                        headers={"Content-Disposition": 'attachment; filename="tgsweep-view.gexf"'})
    return Response(body, media_type="application/json")


async def graph_answer(ctx: ExplorerState, built: GraphCache, *, min_escalation: float = 0.0,
                       community: int | None = None, kinds: list[str] | None = None, since: str | None = None,
                       until: str | None = None, limit: int | None = None, compact: bool = False,
                       focus: str | None = None, hops: int = 1) -> bytes:
    """The /api/graph answer for these filters, serialised; made once per graph version and filters."""
    kinds = kinds or []
    cap = min(limit or ctx.settings.max_nodes, ctx.settings.max_nodes)
    key = (min_escalation, community, tuple(sorted(kinds)), since, until, cap, compact, focus, hops)
    graph_now, positions, communities, version = built.graph, built.positions, built.communities, built.version

    def make() -> bytes:
        payload = data.graph_payload(graph_now, positions, communities,
                                     min_escalation=min_escalation, community=community, kinds=kinds or None,
                                     since=since, until=until, max_nodes=cap, compact=compact, focus=focus,
                                     hops=hops, threshold=ctx.config.graph.escalation_threshold)
        payload["notes"] = built.notes
        # Serialised here, not by FastAPI's encoder: it takes seconds on 60,000 dicts, json.dumps a tenth.
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    return built.payloads.get(key) or await run_in_threadpool(built.answer, key, make, version)


@router.get("/api/edge", summary="the edges between two nodes (either way): kind, count, dates, the posts behind them")
async def edge(request: Request, source: str = Query(max_length=200), target: str = Query(max_length=200)) -> dict[str, Any]:
    built = await state(request).cache.get(store_of(request))
    return {"source": source, "target": target, "edges": data.edges_between(built.graph, source, target)}


@router.get("/api/path", summary="a shortest path between two nodes (edges followed either way)")
async def path(request: Request, source: str = Query(max_length=200), target: str = Query(max_length=200)) -> dict[str, Any]:
    built = await state(request).cache.get(store_of(request))
    found = data.shortest_path(built.graph, source, target)
    if found is None:
        raise HTTPException(404, f"no path between {source} and {target} in the graph")
    return {"source": source, "target": target, "nodes": found,
            "edges": [e for a, b in zip(found, found[1:]) for e in data.edges_between(built.graph, a, b)]}
