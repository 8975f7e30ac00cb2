"""Detect stage, mirrors and the `bots` commands: overrides win and are never overwritten."""
from __future__ import annotations

import io
import json

from store.sqlite import Store
from detectors.bots.mirrors import PromoPost, find_mirrors
from detectors.bots.stage import detect_bots, list_bots, set_override
from tgsweep import cli
from tgsweep.config import Config

T = "2026-01-01T00:00:00+00:00"


def test_mirror_notice_referral_move_and_profile():
    posts = [
        PromoPost("hub", 1, "2026-01-01T00:00:00+00:00", "Try @old_bot", (("old_bot", "deep_link", "ref77"),)),
        PromoPost("hub", 2, "2026-01-02T00:00:00+00:00", "@old_bot was banned. New mirror: @new_bot",
                  (("old_bot", "mention", ""), ("new_bot", "button", "ref77"))),
        PromoPost("hub", 3, "2026-01-03T00:00:00+00:00", "Working mirrors: @a_bot @b_bot @c_bot",
                  (("a_bot", "mention", ""), ("b_bot", "mention", ""), ("c_bot", "mention", ""))),
        PromoPost("hub", 4, "2026-01-03T00:00:00+00:00", "Tools: @x_bot and @y_bot, both free",
                  (("x_bot", "deep_link", "tips"), ("y_bot", "deep_link", "tips"))),
    ]
    found = {(m.bot, m.predecessor, m.kind) for m in find_mirrors(
        posts, {"third_bot": "Backup bot. The old bot @new_bot was banned."})}
    assert found == {("new_bot", "old_bot", "notice"), ("new_bot", "old_bot", "referral"),
                     ("third_bot", "new_bot", "profile")}


async def _seed(store: Store) -> None:
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO bots(username, confirmed, title, description, first_seen, last_seen) VALUES (?,?,?,?,?,?)",
            [("strip_bot", 1, "Strip", "Send a photo, AI removes clothes. 3 free tries, then credits.", T, T),
             ("cut_bot", 1, "Cutout", "Remove background from photos.", T, T)])
        await db.execute("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                         "VALUES ('hub', 1, ?, 'Invite friends to @strip_bot for bonus credits', 'web', '{}', ?, ?)",
                         (T, T, T))
        await db.execute("INSERT INTO bot_refs VALUES ('hub', 1, 'strip_bot', 'deep_link', 'ref1')")


async def test_detect_scores_and_overrides_survive_rescoring(tmp_path):
    store = await Store.open(tmp_path / "t.db")
    try:
        await _seed(store)
        counts = await detect_bots(store, Config())
        assert counts["bots_scored"] == 2 and counts["deepfake_generator"] == 1 and counts["benign"] == 1
        await set_override(store, "@Strip_bot", "benign", "test account of the unit", by="analyst1")
        await detect_bots(store, Config())
        bots = {b["username"]: b for b in await list_bots(store)}
        strip = bots["strip_bot"]
        assert strip["label"] == "benign" and strip["auto_label"] == "deepfake_generator"
        assert strip["override"]["by"] == "analyst1" and strip["reasons"][0].startswith("analyst override by analyst1")
        assert strip["posts"] == 1 and strip["channels"] == 1 and strip["referral_codes"] == ["ref1"]
        assert "promotions: pays credits for inviting others (en)" in strip["reasons"]
    finally:
        await store.close()


def test_cli_bots_score(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps({"username": "u_bot", "name": "", "description": "ｕｎｄｒｅｓｓ any photo, send a photo",
                         "commands": [{"command": "/buy", "description": "buy credits"}]}), "not json"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert cli.main(["bots", "score"]) == 1  # the bad line is reported, the good one scored
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["username"] == "u_bot" and out[0]["label"] == "deepfake_generator"
    assert set(out[0]) == {"username", "label", "score", "reasons"}


def test_cli_bots_label_and_list(monkeypatch, capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndatabase = "t.db"\n')
    assert cli.main(["--config", str(config), "bots", "label", "some_bot", "deepfake_generator",
                     "--note", "seen in case 12", "--by", "ana"]) == 2  # never seen: refused
    assert cli.main(["--config", str(config), "bots", "label", "some_bot", "deepfake_generator",
                     "--note", "seen in case 12", "--by", "ana", "--new"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", str(config), "bots", "list", "--json"]) == 0
    bot = json.loads(capsys.readouterr().out.splitlines()[0])
    assert bot["label"] == "deepfake_generator" and bot["override"]["note"] == "seen in case 12"
    assert cli.main(["--config", str(config), "bots", "list"]) == 0
    assert "analyst ana: seen in case 12" in capsys.readouterr().out
