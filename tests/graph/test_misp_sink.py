"""The MISP sink against a loopback receiver that checks the request shape MISP's REST API documents
(POST /events/add, the automation key in Authorization, JSON both ways, an Event body) and answers as
MISP does, including "already exists" for a UUID it holds. A real MISP cannot run here."""
from __future__ import annotations

import copy
import logging

from aiohttp import web
from pymisp import MISPEvent

from graph.alerts.delivery import deliver_alerts
from store.sqlite import Store
from store.sqlite.alerts import enqueue_alert
from tgsweep.config import load_config

KEY = "MispAutomationKey0123456789abcdefABCDEF01"


class Misp:
    def __init__(self) -> None:
        self.mode = "ok"
        self.events: dict[str, dict] = {}  # uuid -> the event as stored
        self.refused = 0
        self.runner: web.AppRunner | None = None

    async def add(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != KEY or "application/json" not in request.headers.get("Accept", "") \
                or "application/json" not in request.headers.get("Content-Type", ""):
            self.refused += 1
            return web.json_response({"name": "Authentication failed."}, status=403)
        body = await request.json()
        event = MISPEvent()
        event.load(copy.deepcopy(body))  # pymisp reads it as MISP would (and takes the dict apart)
        uid = body["Event"]["uuid"]
        if uid in self.events:
            return web.json_response({"name": "Event already exists, if you would like to edit it, use the url in "
                                              "the location header.", "message": "Event already exists"}, status=403)
        if self.mode == "down":
            return web.Response(status=503, text="maintenance")
        self.events[uid] = body["Event"]
        if self.mode == "lose-answer":  # stored, but the answer never arrives whole
            return web.Response(status=502, text="bad gateway")
        return web.json_response({"Event": body["Event"]})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/events/add", self.add)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def test_high_severity_alerts_become_misp_events_once_each_through_outages(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MISP_KEY", KEY)
    misp = Misp()
    url = await misp.start()
    (tmp_path / "config.toml").write_text(
        '[storage]\ndatabase = "t.db"\n\n[alerts]\nretry_base_seconds = 0.001\nretry_max_seconds = 0.001\n\n'
        f'[[alerts.sinks]]\ntype = "misp"\nurl = "{url}"\nkey = "${{MISP_KEY}}"\n\n[sharing]\ntlp = "red"\n')
    config = load_config(tmp_path / "config.toml")
    try:
        async with await Store.open(config.storage.database) as store:
            async with store.transaction() as tx:
                await enqueue_alert(tx, "deepfake_bot", "bot:strip_magic_bot", "high", ["offers undressing"],
                                    {"posts": ["https://t.me/hub/1", "https://t.me/hub/2"]}, "bot:strip")
                await enqueue_alert(tx, "bank_match", "media:c1", "critical", ["matches case7/near-certain"],
                                    {"sha256": "a" * 64, "md5": "b" * 32, "posts": ["https://t.me/hub/3"]}, "c1")
                await enqueue_alert(tx, "escalation", "channel:hub", "high", ["promotes @strip_magic_bot"],
                                    {"urls": ["https://t.me/hub/1"]}, "esc:hub")
                await enqueue_alert(tx, "mirror", "bot:strip2_bot", "medium", ["a mirror"], {}, "mirror")
            misp.mode = "down"
            down = await deliver_alerts(store, config)
            assert down["retry"] == 1 and not misp.events
            misp.mode = "lose-answer"  # the first one is stored, its answer lost: retried
            lost = await deliver_alerts(store, config)
            assert lost["retry"] == 1 and len(misp.events) == 1
            misp.mode = "ok"
            done = await deliver_alerts(store, config)
            assert done["pending"] == 0
            assert len(misp.events) == 3 and misp.refused == 0  # one event per high alert, the lost one not twice
            states = {r[0]: (r[1], r[2]) for r in await store.fetchall(
                "SELECT a.severity, d.state, d.last_error FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id")}
            assert states["medium"][0] == "delivered"  # done with, not sent: below min_severity (3 events above)
            rows = await store.fetchall("SELECT last_error FROM alert_deliveries")
            assert all(KEY not in (r[0] or "") for r in rows)
        bot = next(e for e in misp.events.values() if "strip_magic_bot" in e["info"])
        assert bot["threat_level_id"] in ("1", 1) and {"name": "tlp:red"}.items() <= bot["Tag"][0].items()
        objects = {o["name"]: o for o in bot["Object"]}
        assert objects["telegram-bot"]["Attribute"][0]["value"] == "strip_magic_bot"
        assert "offers undressing" in objects["telegram-bot"]["comment"]
        assert {a["value"] for a in bot["Attribute"] if a["type"] == "link"} == {"https://t.me/hub/1", "https://t.me/hub/2"}
        media = next(e for e in misp.events.values() if "media:c1" in e["info"])
        assert {a["object_relation"]: a["value"] for a in media["Object"][0]["Attribute"]} == {"sha256": "a" * 64,
                                                                                               "md5": "b" * 32}
        assert KEY not in caplog.text
    finally:
        await misp.stop()


def test_a_misp_sink_needs_its_url_and_key(tmp_path):
    import pytest

    (tmp_path / "config.toml").write_text('[[alerts.sinks]]\ntype = "misp"\nurl = "https://misp.example"\n')
    with pytest.raises(Exception, match="misp sink needs url"):
        load_config(tmp_path / "config.toml")
