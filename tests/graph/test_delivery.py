"""Delivery against a real Standard Webhooks receiver on 127.0.0.1 that goes down and comes back.

The receiver (aiohttp, in the test's event loop) verifies every request with
`standardwebhooks.Webhook(secret).verify` and records the webhook-id of each alert it accepts.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime, timedelta, timezone

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from graph.alerts.delivery import backoff_seconds, deliver_alerts, list_alerts, retry_alerts
from scheduler import job_specs
from store.sqlite import Store
from store.sqlite.alerts import enqueue_alert
from tgsweep import cli
from tgsweep.config import load_config

SECRET = "whsec_" + base64.b64encode(b"tgsweep-delivery-test-key").decode()
QUERY_TOKEN = "QUERYTOKEN42"


class Receiver:
    """A case system: verifies signatures; answers as `mode` says (ok, 503, 429, 410)."""

    def __init__(self) -> None:
        self.webhook = Webhook(SECRET)
        self.mode = "ok"
        self.accepted: list[str] = []
        self.attempts: list[tuple[str, str]] = []
        self.rejected = 0  # bad signature, or a body whose id is not the webhook-id
        self.retry_after = "120"  # mode 429's Retry-After
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = self.webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=401, text="bad signature")
        ident = request.headers["webhook-id"]
        if payload["id"] != ident or request.query.get("token") != QUERY_TOKEN:
            self.rejected += 1
            return web.Response(status=400, text="id mismatch")
        self.attempts.append((ident, self.mode))
        if self.mode == "503":
            return web.Response(status=503, text="down for maintenance")
        if self.mode == "429":
            return web.Response(status=429, headers={"Retry-After": self.retry_after}, text="slow down")
        if self.mode == "410":
            return web.Response(status=410, text="gone: this endpoint was retired")
        self.accepted.append(ident)
        return web.Response(status=204)

    async def echo(self, request: web.Request) -> web.Response:
        """An Express-like 404 that echoes what it was asked, as receivers do: path and query, decoded too."""
        await request.read()
        return web.Response(status=404, text=f"Cannot POST {request.raw_path} (token {request.query.get('token')}, "
                                             f"path {request.match_info['token']}, "
                                             f"key {base64.b64encode(SECRET.encode()).decode()})")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        app.router.add_post("/hooks/{token}", self.echo)
        self.runner = web.AppRunner(app, access_log=None)  # its log is not ours: ours is checked for secrets
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True).start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?token={QUERY_TOKEN}"


def write_config(tmp_path, url: str, jsonl: bool = False, **alerts) -> object:
    settings = {"retry_base_seconds": 0.001, "retry_max_seconds": 0.001, "timeout": 5} | alerts
    text = ('[storage]\ndatabase = "t.db"\n\n[alerts]\n' + "".join(f"{k} = {v!r}\n" for k, v in settings.items())
            + f'\n[[alerts.sinks]]\ntype = "webhook"\nurl = "{url}"\nsecret = "${{HOOK_SECRET}}"\n')
    if jsonl:
        text += '\n[[alerts.sinks]]\ntype = "jsonl"\npath = "alerts.jsonl"\n'
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


async def raise_alerts(store: Store, n: int) -> list[str]:
    async with store.transaction() as tx:
        for i in range(n):
            await enqueue_alert(tx, "bank_match", f"media:c{i}", "high", [f"file {i} matches bank case7"],
                                {"posts": [f"https://t.me/gallery/{i}"], "bank": "case7"}, f"case7:{i}")
    return [r[0] for r in await store.fetchall("SELECT id FROM alerts ORDER BY created_at, id")]


async def test_receiver_down_then_back_nothing_lost_each_id_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    caplog.set_level(logging.DEBUG)
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # down: connection refused
    config = load_config(write_config(tmp_path, receiver.url, jsonl=True))
    async with await Store.open(config.storage.database) as store:
        ids = await raise_alerts(store, 5)
        down = await deliver_alerts(store, config)
        assert (down["delivered"], down["retry"], down["waiting"], down["pending"]) == (5, 1, 4, 5)
        assert down["written"] == {str(tmp_path / "alerts.jsonl"): 5}  # the file sink does not wait for the webhook
        states = {a["state"] for a in await list_alerts(store)}
        assert states == {"pending"}  # pending until every sink has it
        failed = [d for a in await list_alerts(store) for d in a["sinks"] if d["attempts"]]
        assert [d["sink"].split(":")[0] for d in failed].count("webhook") == 1
        assert "connection failed" in next(d for d in failed if d["sink"].startswith("webhook"))["last_error"]

        await receiver.start()  # back, but busy
        receiver.mode = "503"
        await asyncio.sleep(0.01)  # past the (1 ms) back-off
        busy = await deliver_alerts(store, config)
        assert (busy["delivered"], busy["retry"], len(receiver.attempts)) == (0, 1, 1)

        receiver.mode = "ok"
        await asyncio.sleep(0.01)
        back = await deliver_alerts(store, config)
        assert (back["delivered"], back["pending"]) == (5, 0)
        again = await deliver_alerts(store, config)
        assert (again["delivered"], again["retry"], again["waiting"]) == (0, 0, 0)
        alerts = {a["id"]: a for a in await list_alerts(store)}
        listed = json.dumps(list(alerts.values()))
        table = json.dumps([dict(r) for r in await store.fetchall("SELECT * FROM alert_deliveries")])
    await receiver.stop()
    assert sorted(receiver.accepted) == sorted(ids) and len(set(receiver.accepted)) == 5  # each id once
    assert receiver.rejected == 0  # every request carried a valid signature
    assert {a["state"] for a in alerts.values()} == {"delivered"}
    tried = receiver.attempts[0][0]
    assert alerts[tried]["attempts"] == 3 + 1  # webhook: refused, 503, delivered; jsonl: 1
    assert [len(a["sinks"]) for a in alerts.values()] == [2] * 5
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(ids)
    for text in (caplog.text, listed, table):
        assert SECRET not in text and QUERY_TOKEN not in text


async def test_410_is_dead_lettered_with_the_reason_and_retry_revives_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    receiver.mode = "410"
    config = load_config(write_config(tmp_path, receiver.url))
    try:
        async with await Store.open(config.storage.database) as store:
            ids = await raise_alerts(store, 3)
            counts = await deliver_alerts(store, config)
            assert (counts["dead"], counts["retry"], counts["pending"]) == (3, 0, 0)
            alerts = await list_alerts(store)
            assert {a["state"] for a in alerts} == {"dead"}
            sink = alerts[0]["sinks"][0]
            assert sink["last_status"] == 410 and sink["last_error"] == "HTTP 410: gone: this endpoint was retired"
            assert "HTTP 410: gone" in alerts[0]["last_error"]
            assert (await deliver_alerts(store, config))["dead"] == 0 and len(receiver.attempts) == 3  # dead is final

            receiver.mode = "ok"
            assert await retry_alerts(store, [ids[1]]) == 1
            revived = await deliver_alerts(store, config)
            assert (revived["delivered"], revived["pending"]) == (1, 0)
            states = {a["id"]: a["state"] for a in await list_alerts(store)}
    finally:
        await receiver.stop()
    assert receiver.accepted == [ids[1]] and states == {ids[0]: "dead", ids[1]: "delivered", ids[2]: "dead"}


async def test_429_retry_after_pauses_the_sink(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    receiver.mode = "429"
    config = load_config(write_config(tmp_path, receiver.url))
    try:
        async with await Store.open(config.storage.database) as store:
            await raise_alerts(store, 3)
            before = datetime.now(timezone.utc)
            busy = await deliver_alerts(store, config)
            assert (busy["retry"], busy["waiting"], len(receiver.attempts)) == (1, 2, 1)
            due = [datetime.fromisoformat(r[0]) for r in await store.fetchall(
                "SELECT next_attempt_at FROM alert_deliveries")]
            assert len(due) == 3 and all(d >= before + timedelta(seconds=119) for d in due)  # Retry-After: 120
            receiver.mode = "ok"
            idle = await deliver_alerts(store, config)
            assert (idle["delivered"], idle["waiting"], len(receiver.attempts)) == (0, 0, 1)  # nothing was due
            assert await retry_alerts(store) == 3
            done = await deliver_alerts(store, config)
    finally:
        await receiver.stop()
    assert (done["delivered"], done["pending"]) == (3, 0) and len(receiver.accepted) == 3


async def test_gives_up_after_max_age_days(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    receiver.mode = "503"
    config = load_config(write_config(tmp_path, receiver.url, max_age_days=2))
    try:
        async with await Store.open(config.storage.database) as store:
            await raise_alerts(store, 1)
            assert (await deliver_alerts(store, config))["retry"] == 1
            async with store.transaction() as tx:  # as if it had been failing for three days
                await tx.execute("UPDATE alert_deliveries SET window_start=?, next_attempt_at=?",
                                 ((datetime.now(timezone.utc) - timedelta(days=3)).isoformat(), "2000-01-01"))
            counts = await deliver_alerts(store, config)
            (alert,) = await list_alerts(store)
    finally:
        await receiver.stop()
    assert counts["dead"] == 1 and alert["state"] == "dead"
    assert "gave up after 2 attempts over 2 days" in alert["sinks"][0]["last_error"]
    assert "HTTP 503: down for maintenance" in alert["sinks"][0]["last_error"]


def test_backoff_is_exponential_with_full_jitter():
    import random

    rng = random.Random(7)
    waits = [[backoff_seconds(n, 30, 3600, rng) for _ in range(200)] for n in (1, 2, 3, 10)]
    assert all(0 <= w <= 30 for w in waits[0]) and all(0 <= w <= 60 for w in waits[1])
    assert max(waits[2]) > 60 and all(w <= 3600 for w in waits[3]) and max(waits[3]) > 1800
    assert min(waits[0]) < 3  # full jitter: down to zero


def test_cli_deliver_list_retry_and_the_scheduled_job(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    path = write_config(tmp_path, f"http://127.0.0.1:9/hook?token={QUERY_TOKEN}", jsonl=True,
                        deliver_interval_minutes=2.5)  # port 9 (discard): nothing listens, connection refused
    config = load_config(path)

    async def seed() -> list[str]:
        async with await Store.open(config.storage.database) as store:
            return await raise_alerts(store, 2)

    ids = asyncio.run(seed())
    assert cli.main(["--config", str(path), "alerts", "deliver"]) == 1  # a delivery failed in this pass
    out = capsys.readouterr()
    assert "1 deliveries to retry" in out.out and "0 alerts delivered to every sink" in out.out \
        and f"2 alerts written to {tmp_path / 'alerts.jsonl'}" in out.out
    assert cli.main(["--config", str(path), "alerts", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    rows = [json.loads(line) for line in listed.splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ids) and {r["state"] for r in rows} == {"pending"}
    assert {"id", "type", "subject", "severity", "created_at", "state", "sinks", "attempts", "last_error",
            "next_attempt_at"} <= set(rows[0])
    assert cli.main(["--config", str(path), "alerts", "list"]) == 0
    text = capsys.readouterr().out
    assert cli.main(["--config", str(path), "alerts", "retry", ids[0], "alrt_nope"]) == 1
    retried = capsys.readouterr()
    assert "no alert alrt_nope" in retried.err and "1 alert(s) due now" in retried.out
    for shown in (out.out + out.err, listed, text, retried.out + retried.err):
        assert SECRET not in shown and QUERY_TOKEN not in shown
    (job,) = [j for j in job_specs(config) if j.id == "deliver_alerts"]
    assert job.kwargs["argv"] == ["alerts", "deliver"] and job.every == timedelta(minutes=2.5)
    from tgsweep.config import Config

    assert "deliver_alerts" not in {j.id for j in job_specs(Config())}  # no sink: nothing to schedule


def test_webhook_sinks_need_a_whsec_secret(tmp_path, monkeypatch):
    from tgsweep.config import ConfigError, parse_config

    base = '[[alerts.sinks]]\ntype = "webhook"\nurl = "https://cases.example/hook"\n'
    for extra, expected in (("", "a webhook sink needs secret"),
                            ('secret = "TOTALLYSECRET"', "secret: expected whsec_ followed by the base64")):
        try:
            parse_config(base + extra, tmp_path / "c.toml", env={})
        except ConfigError as exc:
            assert expected in str(exc) and "TOTALLYSECRET" not in str(exc)
        else:
            raise AssertionError("accepted")


async def test_one_delivery_pass_at_a_time(tmp_path, monkeypatch):
    from graph.alerts.delivery import _pass_lock
    from tgsweep.summaries import alerts_line

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    config = load_config(write_config(tmp_path, receiver.url))
    try:
        async with await Store.open(config.storage.database) as store:
            await raise_alerts(store, 2)
            held = _pass_lock(store)  # e.g. the scheduled job, while a sweep's deliver stage starts
            busy = await deliver_alerts(store, config)
            tried = len(receiver.attempts)
            held.close()
            done = await deliver_alerts(store, config)
    finally:
        await receiver.stop()
    assert busy["busy"] and busy["delivered"] == 0 and busy["pending"] == 2 and tried == 0
    assert "another delivery pass is running" in alerts_line(busy)
    assert done["delivered"] == 2 and len(receiver.accepted) == 2


async def test_a_removed_sink_stops_holding_alerts_up(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    both = load_config(write_config(tmp_path, "http://127.0.0.1:9/hook", jsonl=True))  # the webhook never answers
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "config.toml").write_text(
        f'[storage]\ndatabase = "{tmp_path / "t.db"}"\n\n[[alerts.sinks]]\ntype = "jsonl"\n'
        f'path = "{tmp_path / "alerts.jsonl"}"\n')
    only_jsonl = load_config(tmp_path / "only" / "config.toml")
    async with await Store.open(both.storage.database) as store:
        await raise_alerts(store, 2)
        first = await deliver_alerts(store, both)
        assert (first["delivered"], first["retry"], first["pending"]) == (2, 1, 2)
        after = await deliver_alerts(store, only_jsonl)  # the webhook sink was taken out of the config
        alerts = await list_alerts(store)
    assert (after["delivered"], after["pending"]) == (0, 0) and {a["state"] for a in alerts} == {"delivered"}
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 2


async def test_a_huge_retry_after_is_capped_and_starves_no_sink(tmp_path, monkeypatch):
    """Retry-After of any size or form never raises: capped at [alerts] max_retry_after_seconds, and the
    sinks after the webhook still get their alerts in the same pass."""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    receiver.mode = "429"
    config = load_config(write_config(tmp_path, receiver.url, jsonl=True, max_retry_after_seconds=600))
    try:
        async with await Store.open(config.storage.database) as store:
            await raise_alerts(store, 2)
            for n, header in enumerate(("99999999999999", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT", "-5", "soon",
                                        "1e400", "Thu, 01 Jan 1970 00:00:00 GMT")):
                receiver.retry_after = header
                await retry_alerts(store)
                before = datetime.now(timezone.utc)
                counts = await deliver_alerts(store, config)
                assert counts["retry"] == 1, header
                if n == 0:
                    assert counts["written"] == {str(tmp_path / "alerts.jsonl"): 2}  # the sink after it too
                due = [datetime.fromisoformat(r[0]) for r in await store.fetchall(
                    "SELECT next_attempt_at FROM alert_deliveries WHERE sink LIKE 'webhook:%'")]
                assert due and all(d <= before + timedelta(seconds=601) for d in due), header
                if n < 3:
                    assert all(d >= before + timedelta(seconds=599) for d in due), header  # capped, still honoured
    finally:
        await receiver.stop()
    assert len(receiver.attempts) == 7


async def test_receiver_echoing_the_url_leaks_no_secret(tmp_path, monkeypatch):
    """A 404 that echoes "Cannot POST /hooks/<token>?token=<secret>": the tokens are scrubbed by value
    from the database, `alerts list` and the logs, in plain, URL-encoded and base64 form."""
    import os
    import sys
    from urllib.parse import quote

    path_token, query_token = "Pa7hT0ken9xQ", "Qu3ry+T0ken/42"
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = Receiver()
    await receiver.start()
    url = f"http://127.0.0.1:{receiver.port}/hooks/{path_token}?token={quote(query_token, safe='')}"
    path = write_config(tmp_path, url)
    config = load_config(path)
    async with await Store.open(config.storage.database) as store:
        await raise_alerts(store, 1)

    async def cli_run(*argv: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tgsweep.cli", "--config", str(path), *argv, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
        out, err = await proc.communicate()
        return out.decode() + err.decode()

    try:
        shown = await cli_run("alerts", "deliver")
        shown += await cli_run("alerts", "list", "--json") + await cli_run("alerts", "list")
    finally:
        await receiver.stop()
    async with await Store.open(config.storage.database) as store:
        stored = json.dumps([dict(r) for r in await store.fetchall("SELECT * FROM alert_deliveries")]
                            + [dict(r) for r in await store.fetchall("SELECT last_error FROM alerts")])
    assert len(receiver.attempts) == 0 and "Cannot POST" in stored and "***" in stored
    assert "dead-lettered" in shown  # the log line is there, without the secrets
    forms = [path_token, query_token, quote(query_token, safe=""), SECRET, base64.b64encode(SECRET.encode()).decode()]
    for text in (stored, shown):
        for form in forms:
            assert form not in text
