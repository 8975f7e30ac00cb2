"""Node positions for the graph view, computed once on the server. Pure.

Why on the server: a force-directed layout of 10,000 nodes in the browser (cytoscape's `cose`)
takes far longer than an analyst will wait, and starts again on every visit. Here a small graph
gets a spring layout (networkx); a big one is split into communities, each community is laid
out as a sunflower (hubs in the middle, Vogel's spiral around them) and the communities are
packed in rows, biggest first. That is linear in the graph's size, deterministic, and keeps
what belongs together close together; the page then draws it with cytoscape's `preset` layout.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Hashable, Iterable

import networkx as nx

SPRING_MAX = 400  # graphs up to this many nodes get a whole spring layout
SPACING = 30.0  # distance between neighbouring nodes, in layout units (cytoscape pixels at zoom 1)
_GOLDEN = math.pi * (3 - math.sqrt(5))


def communities_of(graph: nx.Graph) -> dict[Hashable, int]:
    """Community number per node: label propagation (linear time), numbered biggest first."""
    groups = sorted(nx.community.label_propagation_communities(graph), key=lambda g: (-len(g), min(map(str, g))))
    return {node: number for number, group in enumerate(groups) for node in group}


def layout(nodes: Iterable[Hashable], edges: Iterable[tuple[Hashable, Hashable]],
           community: dict[Hashable, int] | None = None) -> dict[Hashable, tuple[float, float]]:
    """Positions for every node; `community` groups nodes (computed when not given)."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((u, v) for u, v in edges if u != v)
    n = graph.number_of_nodes()
    if n == 0:
        return {}
    if n <= SPRING_MAX:
        scale = SPACING * math.sqrt(n) * 2.2
        pos = nx.spring_layout(graph, seed=7, iterations=80, k=2.2 / math.sqrt(n))
        return {node: (float(x) * scale, float(y) * scale) for node, (x, y) in pos.items()}
    if community is None or any(node not in community for node in graph):
        found = communities_of(graph)
        community = {node: (community or {}).get(node, found[node]) for node in graph}
    groups: dict[int, list[Hashable]] = defaultdict(list)
    for node in graph:
        groups[community[node]].append(node)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), str(g[0])))
    degree = dict(graph.degree())
    total_area = sum(_radius(len(g)) ** 2 * 4 for g in ordered)
    row_width = math.sqrt(total_area) * 1.1
    positions: dict[Hashable, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for group in ordered:
        r = _radius(len(group))
        if x > 0 and x + 2 * r > row_width:
            x, y, row_height = 0.0, y + row_height + SPACING, 0.0
        cx, cy = x + r, y + r
        for i, node in enumerate(sorted(group, key=lambda v: (-degree[v], str(v)))):
            rho = SPACING * 0.6 * math.sqrt(i)
            positions[node] = (cx + rho * math.cos(i * _GOLDEN), cy + rho * math.sin(i * _GOLDEN))
        x += 2 * r + SPACING
        row_height = max(row_height, 2 * r)
    return positions


def _radius(size: int) -> float:
    return SPACING * 0.6 * math.sqrt(max(size, 1)) + SPACING / 2
