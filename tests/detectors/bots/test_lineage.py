"""Banned bots judged by their lineage (detectors/bots/lineage.py) and in the detect stage."""
from __future__ import annotations

import json

from crawler.paging import Cursor
from store.records import EntityPage, Post
from store.records import Capture
from store.sqlite import Store
from detectors.bots.classifier import Thresholds, Verdict
from detectors.bots.lineage import apply_lineage
from detectors.bots.stage import detect_bots

T = Thresholds()


def v(name: str, label: str, score: float) -> Verdict:
    return Verdict(name, label, score, ["no signal in the profile or its promotions"])


def test_an_unknown_mirror_of_a_generator_becomes_one_with_the_link_as_reason():
    verdicts = {"old_bot": v("old_bot", "deepfake_generator", 0.97), "new_bot": v("new_bot", "unknown", 0.2),
                "next_bot": v("next_bot", "unknown", 0.1)}
    links = [("new_bot", "old_bot", "notice", "channel/5: old banned, use new"),
             ("next_bot", "new_bot", "referral", "start code ref7 moved")]
    out = apply_lineage(verdicts, {}, links, [], T)
    assert out["new_bot"].label == out["next_bot"].label == "deepfake_generator"  # through the chain
    assert out["new_bot"].reasons[0].startswith("lineage: mirror of @old_bot (notice: channel/5")
    assert "lineage: mirror of @new_bot (referral" in out["next_bot"].reasons[0]
    assert out["new_bot"].score >= T.generator


def test_a_banned_predecessor_of_a_generator_is_one_too():
    verdicts = {"banned_bot": v("banned_bot", "unknown", 0.0), "mirror_bot": v("mirror_bot", "deepfake_generator", 0.95)}
    out = apply_lineage(verdicts, {}, [("mirror_bot", "banned_bot", "notice", "x/1")], [], T)
    assert out["banned_bot"].label == "deepfake_generator"
    assert out["banned_bot"].reasons[0].startswith("lineage: replaced by its mirror @mirror_bot")


def test_benign_own_words_and_analyst_decisions_are_never_overruled():
    verdicts = {"gen_bot": v("gen_bot", "deepfake_generator", 0.99), "tool_bot": v("tool_bot", "benign", 0.05),
                "kept_bot": v("kept_bot", "unknown", 0.3)}
    links = [("tool_bot", "gen_bot", "notice", "a"), ("kept_bot", "gen_bot", "notice", "b")]
    out = apply_lineage(verdicts, {"kept_bot": "benign"}, links, [], T)
    assert out["tool_bot"].label == "benign" and out["kept_bot"].label == "unknown"


def test_association_raises_the_score_with_a_reason_but_never_the_label():
    verdicts = {"gen_bot": v("gen_bot", "deepfake_generator", 0.99), "near_bot": v("near_bot", "unknown", 0.7)}
    out = apply_lineage(verdicts, {}, [], [("gen_bot", "near_bot")], T)
    assert out["near_bot"].label == "unknown" and 0.7 < out["near_bot"].score < T.generator
    assert out["near_bot"].reasons[-1].startswith("association: promoted in the same posts as @gen_bot")


async def test_the_detect_stage_labels_a_banned_bot_through_its_mirror(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        post = Post("promo", 1, "2026-05-01T10:00:00+00:00", "@old_studio_bot was banned. New: @fresh_nudes_bot",
                    mentions=["old_studio_bot", "fresh_nudes_bot"])
        await store.ingest_page(1, "promo", None, [post], Capture("channel_page", "http://x/s/promo", b"p"), Cursor(1),
                                True)
        await store.record_entity(1, EntityPage("fresh_nudes_bot", "bot", "Fresh", "Send a photo of any girl: the "
                                                "AI removes clothes in seconds. 3 free tries, then credits."),
                                  Capture("entity_page", "http://x/fresh_nudes_bot", b"e"))
        async with store.transaction() as db:
            await db.execute("INSERT INTO bot_mirrors VALUES ('fresh_nudes_bot', 'old_studio_bot', 'notice', "
                             "'promo/1', '2026-05-01T10:00:00+00:00')")
        await detect_bots(store, None)
        rows = {r[0]: (r[1], json.loads(r[2])) for r in await store.fetchall("SELECT username, label, reasons FROM bots")}
    finally:
        await store.close()
    assert rows["fresh_nudes_bot"][0] == "deepfake_generator"
    label, reasons = rows["old_studio_bot"]
    assert label == "deepfake_generator" and reasons[0].startswith("lineage: replaced by its mirror @fresh_nudes_bot")
