"""The graph stage of a sweep (and `tgsweep graph build`): build, analyse, escalate, alert.

A thin job over graph/build.py, graph/analysis.py and graph/escalation.py; re-runnable: every
run scores everything from what the store holds now, and an escalation alert is only ever
written once per subject (its id is stable).
"""
from __future__ import annotations

import time
from typing import Any, Protocol

import networkx as nx

from detectors.bots.stage import set_override
from graph.analysis import Analysis, analyze
from graph.build import bot_id, build_graph, no_gc
from graph.escalation import Weights, automation_scores, save_escalations, score_subjects
from store.alerts import alert_settings
from store.bots import BotsStore
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


class DecisionStore(GraphStageStore, BotsStore, Protocol):
    """What an analyst's decision writes: the label (and its bot alert) and the re-scored escalations."""


async def decide_bot(store: DecisionStore, config: Any, username: str, label: str, note: str, by: str,
                     new: bool = False, graph: nx.MultiDiGraph | None = None) -> dict[str, Any]:
    """An analyst's decision on a bot, applied at once: the label (detectors.bots.stage.set_override,
    with its bot alert), then the bot and every channel promoting it re-scored and saved, with their
    escalation alerts, before this returns. The page and `tgsweep bots label` both call this, so
    both leave the store the same. `graph` is the caller's built graph (the explorer keeps one);
    without it the graph is built here. Centrality and communities stay those of the last full
    graph build: a label changes no edge, only what the edges mean."""
    done = await set_override(store, username, label, note, by, alert_settings(config), new=new)
    if graph is None:
        graph = await build_graph(store, max_posts=config.graph.max_edge_posts, incremental=config.graph.incremental)
    node = bot_id(done["username"])
    if node not in graph:  # no post references it: nothing it could move
        return done | {"rescored": [], "escalation_alerts": 0}
    graph.nodes[node]["label"] = label
    affected = [node] + sorted({u for u, _, k in graph.in_edges(node, keys=True) if k == "promotes"})
    rows = await store.escalation_rows(min_score=0.0)
    before = {r["subject"]: r["score"] for r in rows}
    analysis = Analysis(pagerank={r["subject"]: r["pagerank"] or 0.0 for r in rows},
                        community={r["subject"]: r["community"] for r in rows if r["community"] is not None})
    weights = Weights.from_config(config)
    escalations = score_subjects(graph, analysis, weights, await automation_scores(store), only=affected)
    counts = await save_escalations(store, escalations, weights.threshold,
                                    alerts=alert_settings(config).enabled("escalation"))
    return done | {"escalation_alerts": counts["alerts"], "threshold": weights.threshold,
                   "rescored": [{"subject": e.subject, "before": before.get(e.subject), "after": e.score,
                                 "escalated": e.score >= weights.threshold, "reasons": e.reasons[:3]}
                                for e in escalations]}
