"""Alert rules: each fires once per cause, in the transaction of its cause, with readable evidence."""
from __future__ import annotations

import json

from store.sqlite import Store
from detectors.media.banks import MatchSettings, match_all_media
from detectors.bots.stage import detect_bots, set_override
from store.alerts import AlertSettings, bank_match_alert, mirror_alert
from tgsweep.config import Config

T = "2026-01-01T00:00:00+00:00"
SHA = "ab" * 32
MD5 = "cd" * 16
PDQ = "0c301cb1b3646a686987ff696b8c2c719974a764f769e04efe69f38f483a08b1"


def flip(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):0{len(value)}x}"


async def _alerts(store: Store) -> list[dict]:
    rows = await store.fetchall("SELECT type, subject, severity, payload FROM alerts ORDER BY type, subject")
    return [dict(r) | {"body": json.loads(r["payload"])} for r in rows]


async def _seed_bots(store: Store) -> None:
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO bots(username, confirmed, title, description, first_seen, last_seen) VALUES (?,?,?,?,?,?)",
            [("strip_bot", 1, "Strip", "Send a photo, AI removes clothes. 3 free tries, then credits.", T, T),
             ("strip2_bot", 1, "Strip", "Send a photo, AI removes clothes. 3 free tries, then credits.", T, T),
             ("cut_bot", 1, "Cutout", "Remove background from photos.", T, T),
             ("cut2_bot", 1, "Cutout", "Remove background from photos.", T, T)])
        posts = [("hub", 1, "Invite friends to @strip_bot for bonus credits"),
                 ("hub", 2, "@strip_bot was banned. New mirror: @strip2_bot"),
                 ("tools", 7, "@cut_bot was banned. New mirror: @cut2_bot")]
        for channel, post_id, text in posts:
            await db.execute("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                             "VALUES (?, ?, ?, ?, 'web', '{}', ?, ?)", (channel, post_id, T, text, T, T))
        await db.executemany("INSERT INTO bot_refs VALUES (?,?,?,?,?)", [
            ("hub", 1, "strip_bot", "deep_link", "ref1"), ("hub", 2, "strip_bot", "mention", ""),
            ("hub", 2, "strip2_bot", "mention", ""), ("tools", 7, "cut_bot", "mention", ""),
            ("tools", 7, "cut2_bot", "mention", "")])


async def test_deepfake_bot_and_mirror_alerts_fire_once_across_runs(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        await _seed_bots(store)
        first = await detect_bots(store, Config())
        second = await detect_bots(store, Config())
        alerts = await _alerts(store)
    assert first["deepfake_generator"] == 2 and first["alerts"] == 3 and second["alerts"] == 0
    by_subject = {(a["type"], a["subject"]): a for a in alerts}
    # strip_bot and its mirror strip2_bot are flagged; the benign cut_bot's mirror is not an alert
    assert set(by_subject) == {("deepfake_bot", "bot:strip_bot"), ("deepfake_bot", "bot:strip2_bot"),
                               ("mirror", "bot:strip2_bot")}
    bot = by_subject[("deepfake_bot", "bot:strip_bot")]["body"]
    assert bot["severity"] == "high" and bot["reasons"] and bot["id"].startswith("alrt_")
    assert bot["evidence"]["posts"] == ["https://t.me/hub/1", "https://t.me/hub/2"]
    assert bot["evidence"]["score"] >= 0.8 and bot["evidence"]["url"] == "https://t.me/strip_bot"
    mirror = by_subject[("mirror", "bot:strip2_bot")]["body"]
    assert mirror["evidence"]["predecessor"] == "strip_bot" and "https://t.me/hub/2" in mirror["evidence"]["posts"]
    assert any("announces @strip2_bot in place of @strip_bot" in r for r in mirror["reasons"])
    assert set(bot) == {"type", "id", "created_at", "subject", "severity", "reasons", "evidence"}


async def test_an_analyst_label_raises_the_alert_and_rules_can_be_turned_off(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        await _seed_bots(store)
        off = Config.model_validate({"alerts": {"rules": ["bank_match"]}})
        assert (await detect_bots(store, off))["alerts"] == 0
        assert await _alerts(store) == []
        done = await set_override(store, "cut_bot", "deepfake_generator", "seen generating", "analyst1")
        alerts = await _alerts(store)
    # with the rules on again, what is flagged now gets its alert: the strip bots found before, and cut_bot
    # (flagged by the analyst), whose mirror cut2_bot is now worth an alert too
    assert done["alerts"] == 5
    assert {(a["type"], a["subject"]) for a in alerts} >= {("deepfake_bot", "bot:cut_bot"), ("mirror", "bot:cut2_bot")}
    flagged = next(a for a in alerts if a["subject"] == "bot:cut_bot")["body"]
    assert flagged["reasons"][0].startswith("analyst override by analyst1") and "seen generating" in flagged["reasons"][0]


async def _seed_media(store: Store) -> None:
    async with store.transaction() as db:
        await db.execute("INSERT INTO media(sha256, md5, size, pdq, pdq_quality, first_seen, cluster) "
                         "VALUES (?, ?, 10, ?, 100, ?, 'c1')", (SHA, MD5, PDQ, T))
        await db.execute("INSERT INTO media(sha256, md5, size, pdq, pdq_quality, first_seen) "
                         "VALUES (?, ?, 10, ?, 100, ?)", ("ef" * 32, "01" * 16, flip(PDQ, 128), T))
        await db.execute("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                         "VALUES ('gallery', 5, ?, '', 'web', '{}', ?, ?)", (T, T, T))
        await db.execute("INSERT INTO media_items(channel, post_id, position, kind, status, sha256) "
                         "VALUES ('gallery', 5, 0, 'photo', 'stored', ?)", (SHA,))
        await db.execute("INSERT INTO hash_banks(name, imported_at, hashes) VALUES ('case7', ?, 3)", (T,))
        await db.executemany("INSERT INTO bank_hashes(bank, hash_type, hash, label) VALUES ('case7', ?, ?, ?)", [
            ("md5", MD5, "victim request 1"), ("pdq", flip(PDQ, 12), "victim request 1"),
            ("pdq", flip(flip(PDQ, 128), 28), "weak only")])


async def test_bank_match_alert_once_per_bank_and_file_at_the_minimum_tier(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        await _seed_media(store)
        first = await match_all_media(store, MatchSettings())
        second = await match_all_media(store, MatchSettings())
        alerts = await _alerts(store)
        strict = await match_all_media(store, MatchSettings(), AlertSettings(min_bank_tier="weak lead"))
    assert first["alerts"] == 1 and second["alerts"] == 0 and strict["alerts"] == 1  # the other file: a weak lead only
    (alert,) = alerts
    body = alert["body"]
    assert alert["subject"] == "media:c1" and body["severity"] == "high"  # near-certain: the exact MD5
    ev = body["evidence"]
    assert ev["bank"] == "case7" and ev["tier"] == "near-certain" and ev["distance"] == 0 and ev["hash_type"] == "md5"
    assert {(m["hash_type"], m["distance"], m["tier"]) for m in ev["matches"]} == {("md5", 0, "near-certain"),
                                                                                  ("pdq", 12, "match")}
    assert ev["posts"] == ["https://t.me/gallery/5"] and ev["sha256"] == SHA
    assert "matches bank 'case7' (victim request 1): md5 distance 0, tier near-certain" in body["reasons"][0]


def test_builders_say_none_below_the_bar():
    weak = [{"bank": "b", "label": "", "hash_type": "pdq", "hash": PDQ, "distance": 28, "tier": "weak lead",
             "via": "whole"}]
    assert bank_match_alert(SHA, None, None, weak, [], "match") is None
    lead = bank_match_alert(SHA, None, None, weak, [], "weak lead")
    assert lead.severity == "low" and lead.subject == f"media:{SHA[:16]}"
    links = [("notice", "post hub/2 announces @b_bot in place of @a_bot (en)")]
    assert mirror_alert("b_bot", "a_bot", links, {"a_bot": "benign"}) is None
    assert mirror_alert("b_bot", "a_bot", links, {"a_bot": "benign"}, flagged_only=False).severity == "medium"
