"""Escalation on the demo store: promoters of suspect bots escalate with reasons; the newsroom that
writes about them does not; alerts go out once, with the escalation, in the same transaction."""
from __future__ import annotations

import json
from types import SimpleNamespace

import networkx as nx

from store.sqlite import Store
from detectors.bots.stage import set_override
from graph.analysis import analyze
from graph.build import finish_nodes, fold_bot_refs, fold_channel_refs, set_bot_nodes, to_graph
from graph.escalation import Weights, escalated_posts, list_escalations, score_subjects
from graph.stage import run_graph_stage
from tgsweep.config import load_config


async def _open(config_path):
    return await Store.open(config_path.parent / "tgsweep.db")


async def test_promoting_channels_escalate_and_the_newsroom_does_not(graph_demo_copy):
    store = await _open(graph_demo_copy)
    try:
        scores = {e["subject"]: e for e in await list_escalations(store)}
    finally:
        await store.close()
    hub = scores["channel:faceswap_hub"]
    assert hub["score"] >= 0.6 and hub["escalated_at"]
    text = " | ".join(hub["reasons"])
    assert "promotes @swapface_magic2_bot" in text and "ref123" in text
    assert "known content" in text and "mirror of @swapface_magic_bot" in text
    assert scores["channel:swap_mirror_list"]["score"] >= 0.6
    news = scores["channel:deepfake_watch_news"]
    assert news["score"] == 0.0 and news["escalated_at"] is None
    assert any("names @morphme_ai_bot" in r and "without promoting" in r for r in news["reasons"])
    assert scores["channel:photo_editor_tips"]["score"] == 0.0  # promotes benign bots only
    assert scores["bot:bg_remover_bot"]["score"] == 0.0
    assert scores["bot:swapface_magic2_bot"]["score"] > scores["bot:morphme_ai_bot"]["score"]
    ordered = [e["score"] for e in scores.values()]
    assert ordered == sorted(ordered, reverse=True)


async def test_the_newsroom_stays_clean_even_when_the_bot_it_names_is_confirmed(graph_demo_copy):
    config = load_config(graph_demo_copy)
    store = await _open(graph_demo_copy)
    try:
        before = {e["subject"]: e["score"] for e in await list_escalations(store)}
        await set_override(store, "morphme_ai_bot", "deepfake_generator", "confirmed by test", "tester")
        await run_graph_stage(store, config)
        after = {e["subject"]: e for e in await list_escalations(store)}
    finally:
        await store.close()
    assert after["bot:morphme_ai_bot"]["score"] >= 0.6  # now a confirmed generator
    assert after["channel:deepfake_watch_news"]["score"] == 0.0  # still only names it
    assert after["channel:faceswap_hub"]["score"] > before["channel:faceswap_hub"]  # it promotes it by deep link


def _news_and_promoter() -> nx.MultiDiGraph:
    """A central newsroom that mentions a confirmed generator bot often, and a small channel that deep-links it."""
    table: dict = {}
    fold_bot_refs(table, [("newsroom", n, "gen_bot", "mention", "", "2026-01-01") for n in range(40)]
                  + [("newsroom", 100 + n, "gen_bot", "link", "", "2026-01-02") for n in range(10)]
                  + [("promoter", 1, "gen_bot", "deep_link", "ref1", "2026-01-01")])
    fold_channel_refs(table, [(f"reader{i}", 1, "newsroom", "forward", "2026-01-03") for i in range(12)])
    g = to_graph(table)
    set_bot_nodes(g, [("gen_bot", 1, "Gen", "deepfake_generator", 0.97, "[]", "", "")])
    finish_nodes(g)
    return g


def test_mention_is_not_promotion():
    g = _news_and_promoter()
    scores = {e.subject: e for e in score_subjects(g, analyze(g))}
    assert scores["channel:newsroom"].score == 0.0
    assert scores["channel:newsroom"].signals["flagged_bots"] == 0.0
    assert scores["channel:newsroom"].signals["reach"] > 0  # reach is there, but never counts on its own
    assert scores["channel:promoter"].score >= 0.3
    assert any("by deep_link" in r and "ref1" in r for r in scores["channel:promoter"].reasons)


def test_weights_and_threshold_are_settings():
    g = _news_and_promoter()
    result = analyze(g)
    low = {e.subject: e.score for e in score_subjects(g, result, Weights(flagged_bots=0.2))}
    high = {e.subject: e.score for e in score_subjects(g, result, Weights(flagged_bots=0.9))}
    assert low["channel:promoter"] < high["channel:promoter"]
    config = SimpleNamespace(graph=SimpleNamespace(weight_bank_matches=0.1, weight_flagged_bots=0.2,
                                                   weight_mirrors=0.3, weight_reach=0.4, weight_automation=0.5,
                                                   weight_centrality=0.6, min_bot_score=0.7,
                                                   escalation_threshold=0.8))
    assert Weights.from_config(config) == Weights(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


async def test_escalation_alerts_once_per_subject_in_the_same_transaction(graph_demo_copy):
    config = load_config(graph_demo_copy)
    store = await _open(graph_demo_copy)
    try:
        escalated = {r[0] for r in await store.fetchall(
            "SELECT subject FROM escalations WHERE escalated_at IS NOT NULL")}
        alerts = {r[0]: json.loads(r[1]) for r in await store.fetchall(
            "SELECT subject, payload FROM alerts WHERE type='escalation'")}
        assert escalated and set(alerts) == escalated
        hub = alerts["channel:faceswap_hub"]
        assert hub["reasons"] and hub["evidence"]["urls"] and hub["severity"] in ("medium", "high", "critical")
        counts = await run_graph_stage(store, config)  # again: nothing new crosses, no second alert
        assert counts["newly_escalated"] == 0 and counts["alerts"] == 0
        assert (await store.fetchone("SELECT count(*) FROM alerts WHERE type='escalation'"))[0] == len(escalated)
        # a subject crossing the threshold for the first time gets its alert now, in the same run
        async with store.transaction() as db:
            await db.execute("UPDATE escalations SET escalated_at=NULL WHERE subject='channel:meme_relay'")
            await db.execute("DELETE FROM alerts WHERE subject='channel:meme_relay' AND type='escalation'")
        counts = await run_graph_stage(store, config)
        assert counts["newly_escalated"] == 1 and counts["alerts"] == 1
        rows = await store.fetchall("SELECT subject FROM escalations WHERE escalated_at IS NOT NULL")
        assert {r[0] for r in rows} == {r[0] for r in await store.fetchall(
            "SELECT subject FROM alerts WHERE type='escalation'")}
    finally:
        await store.close()


async def test_stage_works_without_the_automation_table(graph_demo_copy):
    config = load_config(graph_demo_copy)
    store = await _open(graph_demo_copy)
    try:
        async with store.transaction() as tx:
            await tx.execute("DROP TABLE IF EXISTS automation_scores")
        counts = await run_graph_stage(store, config)
        hub = [e for e in await list_escalations(store) if e["subject"] == "channel:faceswap_hub"][0]
    finally:
        await store.close()
    assert counts["escalated"] > 0 and hub["signals"]["automation"] == 0.0 and hub["score"] >= 0.6


async def test_escalated_posts_name_the_posts_behind_each_subject(graph_demo_copy):
    store = await _open(graph_demo_copy)
    try:
        posts = await escalated_posts(store)
        above = await escalated_posts(store, threshold=0.99)
    finally:
        await store.close()
    assert above == []
    hub = [p for p in posts if p["subject"] == "channel:faceswap_hub"]
    assert {"faceswap_hub/14", "faceswap_hub/40"} <= {f"{p['channel']}/{p['post_id']}" for p in hub}
    known = [p for p in hub if p["post_id"] == 14][0]
    assert known["url"] == "https://t.me/faceswap_hub/14" and len(known["sha256s"][0]) == 64 and known["date"]
    assert known["reasons"]
    assert not [p for p in posts if p["channel"] == "deepfake_watch_news"]


async def test_escalation_rule_turned_off_writes_no_alert_until_turned_on(graph_demo_copy):
    config = load_config(graph_demo_copy)
    off = config.model_copy(update={"alerts": config.alerts.model_copy(update={"rules": ["bank_match"]})})
    store = await _open(graph_demo_copy)
    try:
        async with store.transaction() as tx:
            await tx.execute("DELETE FROM alerts WHERE type='escalation'")
            await tx.execute("DELETE FROM escalations")
        counts = await run_graph_stage(store, off)
        assert counts["newly_escalated"] > 0 and counts["alerts"] == 0
        assert (await store.fetchone("SELECT count(*) FROM alerts WHERE type='escalation'"))[0] == 0
        counts = await run_graph_stage(store, config)
        assert counts["newly_escalated"] == 0 and counts["alerts"] == counts["escalated"] > 0
    finally:
        await store.close()
