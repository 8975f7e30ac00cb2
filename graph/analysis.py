"""What the graph says: centrality, communities, repost cascades, distribution hubs, bridges.

Pure functions of a graph from graph/build.py. PageRank and communities run in igraph (C):
at a million edges NetworkX's own Louvain takes minutes where igraph's Leiden takes seconds
(benchmarks/bench_graph.py measures both); `networkx_communities` is kept as the reference.
Communities are reproducible: nodes go to igraph in sorted order, igraph draws from a
`random.Random(seed)` of our own, and communities are numbered by size, then smallest member.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import igraph as ig
import networkx as nx

from store.refs import PROMOTION_KINDS


def bot_suspicion(attrs: dict[str, Any], min_bot_score: float) -> float:
    """How strongly a bot counts as a deepfake generator, 0..1, from its verdict.

    deepfake_generator (automatic or an analyst's): 1; benign: 0; unknown: its classifier score
    when that reaches `min_bot_score` (a lead, weighed by its score), else 0.
    """
    label = attrs.get("label")
    if label == "deepfake_generator":
        return 1.0
    if label == "benign":
        return 0.0
    score = float(attrs.get("bot_score") or 0.0)
    return score if score >= min_bot_score else 0.0


def promotion_posts(attrs: dict[str, Any]) -> int:
    """Posts behind a `promotes` edge that promote (deep link, button, via), not only name the bot."""
    if "promotion_posts" in attrs:
        return int(attrs["promotion_posts"])
    return sum(n for how, n in (attrs.get("how") or {}).items() if how in PROMOTION_KINDS)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """igraph draws from this generator while inside; the process-wide one is left alone."""
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def to_igraph(graph: nx.MultiDiGraph, directed: bool = True) -> tuple[ig.Graph, list[str]]:
    """A simple igraph graph (parallel edges summed into `weight` = posts) over the sorted node ids."""
    names = sorted(graph.nodes)
    index = {n: i for i, n in enumerate(names)}
    weights: dict[tuple[int, int], float] = defaultdict(float)
    for u, v, count in graph.edges(data="count", default=1):
        a, b = index[u], index[v]
        if a == b:
            continue
        if not directed and a > b:
            a, b = b, a
        weights[(a, b)] += max(1, count or 1)
    g = ig.Graph(n=len(names), edges=list(weights), directed=directed)
    g.es["weight"] = list(weights.values())
    return g, names


def pagerank(graph: nx.MultiDiGraph, damping: float = 0.85) -> dict[str, float]:
    """PageRank over references: rank flows from a channel to the channels, bots and media it points at."""
    if graph.number_of_nodes() == 0:
        return {}
    g, names = to_igraph(graph, directed=True)
    ranks = g.pagerank(weights="weight", damping=damping, directed=True)
    return dict(zip(names, ranks))


def communities(graph: nx.MultiDiGraph, seed: int = 42, resolution: float = 1.0,
                iterations: int = 2) -> dict[str, int]:
    """Leiden communities (modularity, igraph) of the undirected, weighted graph; node -> community.

    Why Leiden and not Louvain: its communities are always connected, and at a million edges
    igraph's Leiden takes seconds where its Louvain (multilevel) took minutes on graphs without
    a clear structure (benchmarks/bench_graph.py). `iterations` -1 runs until nothing moves.
    """
    if graph.number_of_nodes() == 0:
        return {}
    g, names = to_igraph(graph, directed=False)
    with _seeded(seed):
        parts = g.community_leiden(objective_function="modularity", weights="weight", resolution=resolution,
                                   n_iterations=iterations)
    groups: dict[int, list[str]] = defaultdict(list)
    for name, member in zip(names, parts.membership):
        groups[member].append(name)
    return _numbered(groups.values())


def networkx_communities(graph: nx.MultiDiGraph, seed: int = 42, resolution: float = 1.0) -> dict[str, int]:
    """NetworkX's own Louvain on the same weighted graph: the reference (and the benchmark's baseline)."""
    simple = nx.Graph()
    simple.add_nodes_from(sorted(graph.nodes))
    for u, v, count in graph.edges(data="count", default=1):
        if u != v:
            w = simple[u][v]["weight"] if simple.has_edge(u, v) else 0
            simple.add_edge(u, v, weight=w + max(1, count or 1))
    return _numbered(nx.community.louvain_communities(simple, weight="weight", resolution=resolution, seed=seed))


def _numbered(groups: Any) -> dict[str, int]:
    ordered = sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))
    return {name: number for number, group in enumerate(ordered) for name in group}


def repost_cascades(graph: nx.MultiDiGraph, min_channels: int = 2) -> list[dict[str, Any]]:
    """Each media cluster posted by several channels: who posted it when, and where it came from.

    Origin candidates: the cluster's earliest appearance (media_clusters.origin_channel) and every
    channel whose first post of it is the earliest date; `forwards` are forwarded_from edges
    between channels of the cascade (who took it from whom, where Telegram says so).
    """
    out = []
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "media":
            continue
        steps = sorted((e["first_seen"] or "9999", u.split(":", 1)[1], e["posts"][0] if e["posts"] else "")
                       for u, _, e in graph.in_edges(node, data=True) if e.get("kind") == "posted")
        channels = list(dict.fromkeys(c for _, c, _ in steps))
        if len(channels) < min_channels:
            continue
        first = steps[0][0]
        candidates = list(dict.fromkeys(([attrs["origin_channel"]] if attrs.get("origin_channel") else [])
                                        + [c for d, c, _ in steps if d == first]))
        members = {f"channel:{c}" for c in channels}
        forwards = sorted(f"{u.split(':', 1)[1]} <- {v.split(':', 1)[1]}" for m in members
                          for u, v, k in graph.out_edges(m, keys=True) if k == "forwarded_from" and v in members)
        out.append({"media": node, "channels": channels, "origin_candidates": candidates,
                    "origin_post": attrs.get("origin", ""), "bank_matches": list(attrs.get("bank_matches") or []),
                    "steps": [{"channel": c, "first_seen": "" if d == "9999" else d, "post": p} for d, c, p in steps],
                    "forwards": forwards})
    out.sort(key=lambda c: (-len(c["channels"]), c["media"]))
    return out


def channels_forwarding(graph: nx.MultiDiGraph, node: str) -> set[str]:
    """The other channels that forwarded from `node`."""
    return {u for u, _, k in graph.in_edges(node, keys=True)
            if k == "forwarded_from" and u != node and graph.nodes[u].get("kind") == "channel"}


def distribution_hubs(graph: nx.MultiDiGraph, min_bot_score: float = 0.3, min_reach: int = 2) -> list[dict[str, Any]]:
    """Channels that spread matched media or promote suspect bots, and how many others they reach.

    Reach counts distinct channels that forwarded from the hub, distinct suspect bots it promotes
    (a mention is not a promotion) and distinct channels that posted a matched picture after it did.
    """
    hubs = []
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "channel":
            continue
        bots, media = [], []
        for _, target, key, e in graph.out_edges(node, keys=True, data=True):
            t = graph.nodes[target]
            if key == "promotes" and promotion_posts(e) and bot_suspicion(t, min_bot_score) > 0:
                bots.append(target)
            elif key == "posted" and t.get("bank_matches"):
                media.append((target, e["first_seen"]))
        if not bots and not media:
            continue
        forwarded_by = channels_forwarding(graph, node)
        later = set()
        for target, first in media:
            for u, _, e in graph.in_edges(target, data=True):
                if u != node and e.get("kind") == "posted" and (e["first_seen"] or "") >= (first or ""):
                    later.add(u)
        reach = len(forwarded_by) + len(bots) + len(later)
        if reach >= min_reach:
            hubs.append({"channel": node, "reach": reach, "forwarded_by": sorted(forwarded_by),
                         "suspect_bots_promoted": sorted(bots), "matched_media": sorted(m for m, _ in media),
                         "reposted_by": sorted(later)})
    hubs.sort(key=lambda h: (-h["reach"], h["channel"]))
    return hubs


def bridges(graph: nx.MultiDiGraph, community: dict[str, int], top: int = 20) -> list[dict[str, Any]]:
    """Nodes whose edges reach into other communities: the links between clusters of channels."""
    out = []
    for node in graph.nodes:
        own = community.get(node)
        others: dict[int, int] = defaultdict(int)
        for u, v in list(graph.out_edges(node)) + list(graph.in_edges(node)):
            other = community.get(v if u == node else u)
            if other is not None and other != own:
                others[other] += 1
        if others:
            out.append({"node": node, "community": own, "communities_reached": sorted(others),
                        "edges_out_of_community": sum(others.values())})
    out.sort(key=lambda b: (-len(b["communities_reached"]), -b["edges_out_of_community"], b["node"]))
    return out[:top]


@dataclass
class Analysis:
    pagerank: dict[str, float] = field(default_factory=dict)
    community: dict[str, int] = field(default_factory=dict)
    cascades: list[dict[str, Any]] = field(default_factory=list)
    hubs: list[dict[str, Any]] = field(default_factory=list)
    bridges: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def analyze(graph: nx.MultiDiGraph, seed: int = 42, resolution: float = 1.0, min_bot_score: float = 0.3,
            min_reach: int = 2, iterations: int = 2) -> Analysis:
    """Everything above, timed."""
    result, t = Analysis(), time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        result.seconds[name] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()

    result.pagerank = pagerank(graph)
    lap("pagerank")
    result.community = communities(graph, seed, resolution, iterations)
    lap("communities")
    result.cascades = repost_cascades(graph)
    result.hubs = distribution_hubs(graph, min_bot_score, min_reach)
    result.bridges = bridges(graph, result.community)
    lap("cascades_hubs_bridges")
    return result
