"""`tgsweep bots label`: a mistyped username is refused, not made into a bot with a high-severity alert."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from store.sqlite import Store
from detectors.bots.stage import set_override

T = "2026-01-01T00:00:00+00:00"


async def _seed(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        async with store.transaction() as db:
            await db.execute("INSERT INTO bots(username, confirmed, title, description, first_seen, last_seen) "
                             "VALUES ('strip_magic_bot', 1, 'Strip', 'Send a photo', ?, ?)", (T, T))
            await db.execute("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                             "VALUES ('hub', 1, ?, 'Try @swapface_pro_bot', 'web', '{}', ?, ?)", (T, T, T))
            await db.execute("INSERT INTO bot_refs VALUES ('hub', 1, 'swapface_pro_bot', 'mention', '')")
            await db.execute("INSERT INTO channels(username, kind, first_seen, last_seen) "
                             "VALUES ('helper_desk_bot', 'bot', ?, ?)", (T, T))
    finally:
        await store.close()


@pytest.fixture
def store_config(tmp_path, sweeps) -> Path:
    config = sweeps.write_config(tmp_path / "run", "http://127.0.0.1:9", ["faceswap_hub"])
    asyncio.run(_seed(sweeps.db_path(config)))
    return config


def _counts(sweeps, config: Path) -> tuple[int, int, int]:
    return (sweeps.value(config, "SELECT count(*) FROM bots"),
            sweeps.value(config, "SELECT count(*) FROM bot_overrides"),
            sweeps.value(config, "SELECT count(*) FROM alerts"))


def test_a_mistyped_username_is_refused_with_a_did_you_mean_and_nothing_recorded(store_config, sweeps):
    before = _counts(sweeps, store_config)
    done = sweeps.cli(store_config, "bots", "label", "@strip_magik_bot", "deepfake_generator",
                      "--note", "seen generating", "--by", "analyst1")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "strip_magik_bot" in done.stderr and "did you mean @strip_magic_bot" in done.stderr
    assert "--new" in done.stderr
    assert _counts(sweeps, store_config) == before  # no bot row, no decision, no alert
    assert sweeps.value(store_config, "SELECT count(*) FROM bots WHERE username='strip_magik_bot'") == 0


def test_a_typo_of_a_bot_only_referenced_by_posts_is_matched_too(store_config, sweeps):
    done = sweeps.cli(store_config, "bots", "label", "swapfase_pro_bot", "benign", "--note", "x")
    assert done.returncode == 2 and "did you mean @swapface_pro_bot" in done.stderr


def test_a_name_nothing_resembles_is_refused_without_suggestions(store_config, sweeps):
    done = sweeps.cli(store_config, "bots", "label", "qqqqzzzz", "benign", "--note", "x")
    assert done.returncode == 2 and "did you mean" not in done.stderr and "qqqqzzzz" in done.stderr
    assert _counts(sweeps, store_config)[0] == 1


@pytest.mark.parametrize("name", ["strip_magic_bot", "@Swapface_Pro_Bot", "helper_desk_bot"])
def test_a_username_the_store_has_seen_is_labelled(store_config, sweeps, name):
    """In bots, only in bot_refs, or only in channels: each is known."""
    done = sweeps.cli(store_config, "bots", "label", name, "deepfake_generator", "--note", "confirmed", "--by", "a1")
    assert done.returncode == 0, done.stderr
    username = name.lstrip("@").lower()
    assert sweeps.value(store_config, "SELECT label FROM bots WHERE username=?", (username,)) == "deepfake_generator"
    assert sweeps.value(store_config, "SELECT decided_by FROM bot_overrides WHERE username=?", (username,)) == "a1"
    assert sweeps.value(store_config, "SELECT count(*) FROM alerts WHERE subject=? AND type='deepfake_bot'",
                        (f"bot:{username}",)) == 1
    # a bot a post references is re-scored at once (escalated, with its alert); one only in channels is not
    referenced = username == "swapface_pro_bot"
    assert sweeps.value(store_config, "SELECT count(*) FROM escalations WHERE subject=?", (f"bot:{username}",)) \
        == referenced
    assert sweeps.value(store_config, "SELECT count(*) FROM alerts WHERE subject=? AND type='escalation'",
                        (f"bot:{username}",)) == referenced


def test_new_labels_a_bot_the_store_has_never_seen(store_config, sweeps):
    done = sweeps.cli(store_config, "bots", "label", "brand_new_gen_bot", "deepfake_generator", "--new",
                      "--note", "reported by a partner", "--by", "a1")
    assert done.returncode == 0, done.stderr
    assert sweeps.value(store_config, "SELECT label FROM bots WHERE username='brand_new_gen_bot'") == \
        "deepfake_generator"
    assert sweeps.value(store_config, "SELECT count(*) FROM alerts WHERE subject='bot:brand_new_gen_bot'") == 1


async def test_set_override_refuses_an_unseen_bot_unless_new(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        async with store.transaction() as db:
            await db.execute("INSERT INTO bots(username, first_seen, last_seen) VALUES ('strip_magic_bot', ?, ?)",
                             (T, T))
        with pytest.raises(LookupError) as refused:
            await set_override(store, "strip_magik_bot", "benign", "x", "a1")
        assert refused.value.args[1] == ["strip_magic_bot"]
        assert await store.fetchall("SELECT * FROM bot_overrides") == []
        done = await set_override(store, "strip_magik_bot", "benign", "x", "a1", new=True)
        assert done["username"] == "strip_magik_bot"
