"""The outbox: an alert commits with its cause or not at all, and a cause gives one alert."""
from __future__ import annotations

import json

import pytest

from store.sqlite import Store
from store.alerts import alert_id
from store.sqlite.alerts import enqueue_alert


class Boom(Exception):
    pass


async def test_alert_rolls_back_with_its_cause(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        with pytest.raises(Boom):
            async with store.transaction() as tx:
                await tx.execute("INSERT INTO bot_mirrors VALUES ('b_bot', 'a_bot', 'notice', 'post x/1', 'now')")
                assert await enqueue_alert(tx, "mirror", "bot:b_bot", "high", ["b replaces a"], {}, "b_bot:a_bot")
                raise Boom  # the stage dies before committing
        assert await store.fetchall("SELECT * FROM alerts") == []
        assert await store.fetchall("SELECT * FROM bot_mirrors") == []


async def test_same_cause_same_alert_and_body_fields(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        for expected in (True, False):
            async with store.transaction() as tx:
                added = await enqueue_alert(tx, "deepfake_bot", "bot:x_bot", "high", ["why"],
                                            {"posts": ["https://t.me/hub/1"]}, "x_bot")
            assert added is expected
        rows = await store.fetchall("SELECT id, state, payload FROM alerts")
    assert len(rows) == 1 and rows[0]["state"] == "pending" and rows[0]["id"] == alert_id("deepfake_bot", "x_bot")
    body = json.loads(rows[0]["payload"])
    assert body["id"] == rows[0]["id"] and body["type"] == "deepfake_bot" and body["subject"] == "bot:x_bot"
    assert alert_id("deepfake_bot", "x_bot") != alert_id("mirror", "x_bot")


async def test_unknown_type_or_severity_is_refused(tmp_path):
    async with await Store.open(tmp_path / "t.db") as store:
        async with store.transaction() as tx:
            with pytest.raises(ValueError, match="unknown alert type"):
                await enqueue_alert(tx, "gossip", "bot:x_bot", "high", [], {}, "k")
            with pytest.raises(ValueError, match="unknown severity"):
                await enqueue_alert(tx, "mirror", "bot:x_bot", "urgent", [], {}, "k")
