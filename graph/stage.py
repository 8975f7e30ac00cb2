"""The graph stage of a sweep (and `tgsweep graph build`): build, analyse, escalate, alert.

A thin job over graph/build.py, graph/analysis.py and graph/escalation.py; re-runnable: every
run scores everything from what the store holds now, and an escalation alert is only ever
written once per subject (its id is stable).
"""
from __future__ import annotations

import time
from typing import Any, Protocol

from graph.analysis import analyze
from graph.build import build_graph, no_gc
from graph.escalation import Weights, automation_scores, save_escalations, score_subjects
from store.alerts import alert_settings
from store.escalations import EscalationsStore
from store.graph import GraphSource


class GraphStageStore(GraphSource, EscalationsStore, Protocol):
    """What the graph stage reads (the graph's sources) and writes (escalations and their alerts)."""


async def run_graph_stage(store: GraphStageStore, config: Any) -> dict[str, Any]:
    """Build the graph, analyse it, score and persist escalations; counts and the top subjects for the summary."""
    g = config.graph
    t0 = time.perf_counter()
    build: dict[str, Any] = {}
    graph = await build_graph(store, max_posts=g.max_edge_posts, incremental=g.incremental, stats=build)
    t1 = time.perf_counter()
    with no_gc():
        result = analyze(graph, seed=g.community_seed, resolution=g.community_resolution,
                         min_bot_score=g.min_bot_score, min_reach=g.hub_min_reach, iterations=g.community_iterations)
    t2 = time.perf_counter()
    weights = Weights.from_config(config)
    automation = await automation_scores(store)
    with no_gc():
        escalations = score_subjects(graph, result, weights, automation)
    counts = await save_escalations(store, escalations, weights.threshold,
                                    alerts=alert_settings(config).enabled("escalation"))
    t3 = time.perf_counter()
    return {
        "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
        "communities": len(set(result.community.values())), "cascades": len(result.cascades),
        "hubs": len(result.hubs), "snapshot_used": build.get("snapshot_used", False),
        "rows_folded": build.get("rows_folded", 0), **counts,
        "threshold": weights.threshold,
        "top": [{"subject": e.subject, "score": e.score, "reasons": e.reasons[:4]}
                for e in escalations if e.score > 0][:10],
        "hub_list": result.hubs[:5], "cascade_list": result.cascades[:3],
        "seconds": {"build": round(t1 - t0, 3), "analysis": round(t2 - t1, 3), "escalation": round(t3 - t2, 3)},
    }
