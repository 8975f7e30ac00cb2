"""Analysis of the demo graph: reproducible communities, PageRank, cascades, hubs, bridges."""
from __future__ import annotations

import networkx as nx

from store.sqlite import Store
from graph.analysis import (analyze, bridges, communities, distribution_hubs, networkx_communities, pagerank,
                            repost_cascades)
from graph.build import build_graph, fold_bot_refs, fold_channel_refs, to_graph


async def _demo_graph(config) -> nx.MultiDiGraph:
    store = await Store.open(config.parent / "tgsweep.db")
    try:
        return await build_graph(store)
    finally:
        await store.close()


async def test_communities_are_identical_across_runs_and_builds(graph_demo_copy):
    first = await _demo_graph(graph_demo_copy)
    second = await _demo_graph(graph_demo_copy)
    a, b = communities(first, seed=7), communities(second, seed=7)
    assert a == b and set(a) == set(first.nodes)
    assert len(set(a.values())) > 1
    # numbered by size: community 0 is the largest
    sizes = [list(a.values()).count(c) for c in sorted(set(a.values()))]
    assert sizes == sorted(sizes, reverse=True)
    assert networkx_communities(first, seed=7) == networkx_communities(second, seed=7)


def _two_groups() -> nx.MultiDiGraph:
    """Two tight groups of channels forwarding each other, joined only through one relay channel."""
    table: dict = {}
    rows = []
    for group in ("a", "b"):
        names = [f"{group}{i}" for i in range(5)]
        for i, x in enumerate(names):
            for y in names[i + 1:]:
                rows += [(x, n, y, "forward", "2026-01-01") for n in range(3)]
    rows += [("relay", 1, "a0", "forward", "2026-01-02"), ("relay", 2, "b0", "forward", "2026-01-02")]
    fold_channel_refs(table, rows)
    return to_graph(table)


def test_bridges_and_communities_on_two_groups():
    g = _two_groups()
    parts = communities(g, seed=1)
    assert parts["channel:a1"] == parts["channel:a4"] != parts["channel:b1"] == parts["channel:b4"]
    top = bridges(g, parts)
    by_node = {b["node"]: b for b in top}
    # the relay (or the two channels it touches) is where the groups meet
    assert {"channel:relay", "channel:a0", "channel:b0"} & set(by_node)
    assert all(b["communities_reached"] for b in top)
    assert "channel:a3" not in by_node  # inside its group only


def test_pagerank_flows_to_what_is_referenced():
    table: dict = {}
    fold_bot_refs(table, [(f"c{i}", 1, "target_bot", "deep_link", "x", "2026-01-01") for i in range(6)])
    fold_bot_refs(table, [("c0", 2, "other_bot", "deep_link", "y", "2026-01-01")])
    g = to_graph(table)
    ranks = pagerank(g)
    assert abs(sum(ranks.values()) - 1.0) < 1e-6
    assert max(ranks, key=ranks.get) == "bot:target_bot"
    assert ranks["bot:target_bot"] > ranks["bot:other_bot"]


async def test_cascade_of_the_shared_picture_starts_at_the_hub(graph_demo_copy):
    g = await _demo_graph(graph_demo_copy)
    cascades = repost_cascades(g)
    shared = [c for c in cascades if c["origin_post"] == "faceswap_hub/14"]
    assert len(shared) == 1
    c = shared[0]
    assert c["channels"] == ["faceswap_hub", "neural_pics", "meme_relay"]  # in order of first appearance
    assert c["origin_candidates"][0] == "faceswap_hub"
    assert [s["first_seen"] for s in c["steps"]] == sorted(s["first_seen"] for s in c["steps"])
    assert c["bank_matches"]


async def test_distribution_hubs_leave_out_the_newsroom(graph_demo_copy):
    g = await _demo_graph(graph_demo_copy)
    hubs = distribution_hubs(g, min_bot_score=0.3, min_reach=2)
    names = [h["channel"] for h in hubs]
    assert names[0] == "channel:faceswap_hub"
    assert "channel:ai_tools_digest" in hubs[0]["forwarded_by"] or "channel:meme_relay" in hubs[0]["forwarded_by"]
    assert "channel:deepfake_watch_news" not in names
    assert "channel:photo_editor_tips" not in names  # promotes benign bots only


async def test_analyze_bundles_everything_with_timings(graph_demo_copy):
    g = await _demo_graph(graph_demo_copy)
    result = analyze(g, seed=3)
    assert set(result.pagerank) == set(g.nodes) == set(result.community)
    assert result.cascades and result.hubs and result.bridges
    assert set(result.seconds) == {"pagerank", "communities", "cascades_hubs_bridges"}
    assert analyze(g, seed=3).community == result.community
