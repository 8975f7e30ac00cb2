"""The graph built from a store the demo corpus filled: the edges an analyst expects, incrementally too."""
from __future__ import annotations

import networkx as nx

from store.sqlite import Store
from graph.build import EDGE_KINDS, build_graph, fold_bot_refs, fold_channel_refs, snapshot_path, to_graph


async def _graph(config, **kwargs) -> tuple[nx.MultiDiGraph, dict]:
    stats: dict = {}
    store = await Store.open(config.parent / "tgsweep.db")
    try:
        return await build_graph(store, stats=stats, **kwargs), stats
    finally:
        await store.close()


def _edges(graph: nx.MultiDiGraph) -> dict:
    return {(u, v, k): dict(a) for u, v, k, a in graph.edges(keys=True, data=True)}


async def test_demo_graph_has_the_expected_nodes_and_edges(graph_demo_copy):
    g, _ = await _graph(graph_demo_copy)
    kinds = nx.get_node_attributes(g, "kind")
    assert kinds["channel:faceswap_hub"] == "channel" and kinds["bot:swapface_magic2_bot"] == "bot"
    # forwards: the digest forwards the hub; the relay forwards the digest and one hidden account
    assert g.has_edge("channel:ai_tools_digest", "channel:faceswap_hub", "forwarded_from")
    assert g.has_edge("channel:meme_relay", "channel:ai_tools_digest", "forwarded_from")
    assert g.has_edge("channel:meme_relay", "account:Anonymous Reseller", "forwarded_from")
    # links and mentions between channels
    assert g.has_edge("channel:faceswap_hub", "channel:swap_mirror_list", "links_to")
    # promotion with referral codes, counted in posts
    promo = g.edges["channel:faceswap_hub", "bot:swapface_magic2_bot", "promotes"]
    assert promo["promotion_posts"] >= 5 and "ref123" in promo["params"]
    assert promo["count"] >= promo["promotion_posts"] and promo["first_seen"] <= promo["last_seen"]
    assert all(p.startswith("faceswap_hub/") for p in promo["posts"])
    # the newsroom only names a generator bot: an edge that is all mentions/plain links, no promotion
    news = g.edges["channel:deepfake_watch_news", "bot:morphme_ai_bot", "promotes"]
    assert news["promotion_posts"] == 0 and set(news["how"]) <= {"mention", "link"}
    # the shared picture: one media cluster posted by the three channels that reposted it
    shared = [n for n, a in g.nodes(data=True) if a["kind"] == "media" and a.get("origin") == "faceswap_hub/14"]
    assert len(shared) == 1
    posters = {u for u, _, k in g.in_edges(shared[0], keys=True) if k == "posted"}
    assert posters == {"channel:faceswap_hub", "channel:neural_pics", "channel:meme_relay"}
    assert g.nodes[shared[0]]["bank_matches"]
    # ban and mirror
    mirror = g.edges["bot:swapface_magic2_bot", "bot:swapface_magic_bot", "mirror_of"]
    assert "faceswap_hub/40" in mirror["posts"]
    # signatures are accounts scoped to their channel
    assert g.has_edge("channel:deepfake_watch_news", "account:deepfake_watch_news/M. Rivera", "authored_by")


async def test_every_node_and_edge_carries_the_contract_attributes(graph_demo_copy):
    g, _ = await _graph(graph_demo_copy, max_posts=2)
    for node, a in g.nodes(data=True):
        assert node.split(":", 1)[0] == a["kind"] in ("channel", "bot", "media", "account")
        assert isinstance(a["escalation"], float) and 0.0 <= a["escalation"] <= 1.0
        assert isinstance(a["label"], str) and a["label"]
        assert isinstance(a["first_seen"], str) and isinstance(a["last_seen"], str)
    labels = {a["label"] for _, a in g.nodes(data=True) if a["kind"] == "bot"}
    assert labels <= {"deepfake_generator", "benign", "unknown"} and "benign" in labels
    assert max(a["escalation"] for _, a in g.nodes(data=True)) > 0  # the sweep's graph stage scored them
    for _u, _v, k, a in g.edges(keys=True, data=True):
        assert a["kind"] == k in EDGE_KINDS
        assert a["count"] >= 1 and len(a["posts"]) <= 2  # capped; count keeps them all
    assert any(a["count"] > 2 for _, _, a in g.edges(data=True))


def test_folding_counts_posts_not_rows_and_caps_the_post_list():
    table: dict = {}
    rows = [("hub", 1, "x_bot", "mention", "", "2026-01-01"), ("hub", 1, "x_bot", "deep_link", "a", "2026-01-01"),
            ("hub", 1, "x_bot", "button", "a", "2026-01-01"), ("hub", 2, "x_bot", "mention", "", "2026-01-03"),
            ("hub", 3, "x_bot", "deep_link", "b", "2026-01-02"), ("hub", 4, "x_bot", "via", "", None)]
    assert fold_bot_refs(table, rows, max_posts=2) == 6
    e = table["channel:hub", "bot:x_bot", "promotes"]
    assert e["count"] == 4 and e["promotion_posts"] == 3
    assert e["how"] == {"mention": 2, "deep_link": 2, "button": 1, "via": 1}
    assert e["params"] == ["a", "b"] and e["posts"] == ["hub/1", "hub/2"]
    assert (e["first_seen"], e["last_seen"]) == ("2026-01-01", "2026-01-03")
    fold_channel_refs(table, [("a", 1, "b", "forward", "2026-01-01"), ("a", 2, "b", "mention", "2026-01-02")])
    g = to_graph(table)
    slow = nx.MultiDiGraph()
    slow.add_edges_from((u, v, k, dict(a)) for (u, v, k), a in table.items())
    assert nx.utils.graphs_equal(g, slow) and list(g.in_edges("bot:x_bot", keys=True)) == [
        ("channel:hub", "bot:x_bot", "promotes")]
    assert g.edges["channel:hub", "bot:x_bot", "promotes"] == e
    assert g.has_edge("channel:a", "channel:b", "forwarded_from") and g.has_edge("channel:a", "channel:b", "links_to")


async def _add_posts(db_path, rows: list[tuple[str, int, str]]) -> None:
    """New posts with a bot deep link and a forward, written the way ingestion writes them (one transaction)."""
    store = await Store.open(db_path)
    try:
        async with store.transaction() as tx:
            for channel, post_id, bot in rows:
                await tx.execute("INSERT INTO posts(channel, id, date, source, record, first_seen, last_seen) "
                                 "VALUES (?,?,?,?,?,?,?)", (channel, post_id, "2026-02-01T10:00:00+00:00", "web",
                                                           "{}", "t", "t"))
                await tx.execute("INSERT INTO bot_refs VALUES (?,?,?,?,?)", (channel, post_id, bot, "deep_link", "z9"))
                await tx.execute("INSERT INTO channel_refs VALUES (?,?,?,?,?)",
                                 (channel, post_id, "faceswap_hub", "forward", 3))
    finally:
        await store.close()


async def test_incremental_build_equals_a_full_rebuild(graph_demo_copy, tmp_path):
    snap = tmp_path / "snap.pickle"
    first, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert not stats["snapshot_used"] and snap.exists()
    again, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert stats["snapshot_used"] and stats["rows_folded"] == 0
    assert _edges(again) == _edges(first)

    await _add_posts(graph_demo_copy.parent / "tgsweep.db", [("newcomer_chan", 1, "swapface_magic3_bot"),
                                                             ("newcomer_chan", 2, "swapface_magic3_bot")])
    inc, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert stats["snapshot_used"] and stats["rows_folded"] == 4  # two bot refs, two forwards: nothing re-read
    full, _ = await _graph(graph_demo_copy)
    assert _edges(inc) == _edges(full)
    e = inc.edges["channel:newcomer_chan", "bot:swapface_magic3_bot", "promotes"]
    assert e["count"] == 2 and e["params"] == ["z9"]
    assert inc.edges["channel:newcomer_chan", "channel:faceswap_hub", "forwarded_from"]["count"] == 2
    # a small delta is folded again by the next build instead of rewriting the snapshot each time
    assert not stats["snapshot_written"]
    again, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert stats["rows_folded"] == 4 and _edges(again) == _edges(full)
    await _add_posts(graph_demo_copy.parent / "tgsweep.db", [("newcomer_chan", n, "photogen_pro_bot")
                                                             for n in range(3, 60)])
    big, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert stats["snapshot_written"] and stats["rows_folded"] == 4 + 2 * 57
    after, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert stats["snapshot_used"] and stats["rows_folded"] == 0
    assert _edges(after) == _edges(big) == _edges((await _graph(graph_demo_copy))[0])


async def test_a_snapshot_that_does_not_match_the_database_is_ignored(graph_demo_copy, tmp_path):
    snap = tmp_path / "snap.pickle"
    await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    store = await Store.open(graph_demo_copy.parent / "tgsweep.db")
    try:
        async with store.transaction() as tx:  # rows the snapshot counted are gone: it cannot be trusted
            await tx.execute("DELETE FROM bot_refs WHERE channel='deepfake_watch_news'")
    finally:
        await store.close()
    g, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert not stats["snapshot_used"]
    assert not g.has_edge("channel:deepfake_watch_news", "bot:morphme_ai_bot", "promotes")
    snap.write_bytes(b"not a pickle")
    g2, stats = await _graph(graph_demo_copy, incremental=True, snapshot=snap)
    assert not stats["snapshot_used"] and _edges(g2) == _edges(g)
    nowhere = tmp_path / "no such folder" / "snap.pickle"  # cannot be written: a warning, the graph still comes
    g3, stats = await _graph(graph_demo_copy, incremental=True, snapshot=nowhere)
    assert not stats["snapshot_written"] and not nowhere.exists() and _edges(g3) == _edges(g)


def test_snapshot_lives_beside_the_database(tmp_path):
    assert snapshot_path(tmp_path / "x.db") == tmp_path / "x.db.graph.pickle"

