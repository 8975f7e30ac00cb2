"""Sinks: HTTP answers classified, Standard Webhooks headers, the JSONL file's crash safety."""
from __future__ import annotations

import base64
import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from store.sqlite import Store
from graph.alerts.delivery import deliver_alerts
from store.sqlite.alerts import enqueue_alert
from graph.alerts.sinks import JsonlSink, WebhookSink, classify, safe_url
from tgsweep.config import load_config

SECRET = "whsec_" + base64.b64encode(b"tgsweep-sinks-test-key-01").decode()


@pytest.mark.parametrize("status, retry_after, state, wait", [
    (200, None, "delivered", None), (204, None, "delivered", None), (408, None, "retry", None),
    (429, "120", "retry", 120.0), (500, None, "retry", None), (503, "7", "retry", 7.0), (400, None, "dead", None),
    (404, None, "dead", None), (410, None, "dead", None), (301, None, "dead", None),
])
def test_classify(status, retry_after, state, wait):
    outcome = classify(status, retry_after, "  the\nreceiver   says why  ")
    assert (outcome.state, outcome.status, outcome.retry_after) == (state, status, wait)
    if state == "dead" and status != 301:
        assert outcome.error == f"HTTP {status}: the receiver says why"


def test_headers_verify_with_the_standardwebhooks_library():
    sink = WebhookSink("https://cases.example/hook", SECRET)
    body = json.dumps({"id": "alrt_1", "type": "mirror", "reasons": ["é ünïcode"]}, ensure_ascii=False)
    headers = sink.headers("alrt_1", body)
    assert headers["webhook-id"] == "alrt_1" and headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body.encode("utf-8"), headers)["id"] == "alrt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace("mirror", "escalation"), headers)
    other = "whsec_" + base64.b64encode(b"another key entirely....").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_sink_identity_and_errors_hold_no_secrets():
    sink = WebhookSink("https://user:pw@cases.example:8443/hooks/in?token=QTOKEN", SECRET)
    assert sink.identity.startswith("webhook:https://cases.example:8443/...#")
    text = sink.scrub(f"failed for https://user:pw@cases.example:8443/hooks/in?token=QTOKEN with {SECRET}")
    assert "QTOKEN" not in text and "pw@" not in text and SECRET not in text and "QTOKEN" not in repr(sink)
    assert safe_url("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    slack = "https://hooks.example/services/T000/B000/PATHTOKEN"  # a token in the path, as Slack-style hooks have
    assert "PATHTOKEN" not in safe_url(slack) and safe_url(slack) != safe_url(slack + "2")
    assert "PATHTOKEN" not in WebhookSink(slack, SECRET).scrub(f"connection refused: {slack}")


def _config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndatabase = "t.db"\n\n[[alerts.sinks]]\ntype = "jsonl"\npath = "out/alerts.jsonl"\n')
    return load_config(path)


async def _raise(store: Store, names: list[str]) -> None:
    async with store.transaction() as tx:
        for name in names:
            await enqueue_alert(tx, "deepfake_bot", f"bot:{name}", "high", [f"{name} generates"], {}, name)


def _ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


async def test_jsonl_crash_between_write_and_mark_writes_nothing_twice(tmp_path):
    config = _config(tmp_path)
    path = config.alerts.sinks[0].path
    assert path == tmp_path / "out" / "alerts.jsonl"  # relative to the config file
    async with await Store.open(config.storage.database) as store:
        await _raise(store, ["a_bot", "b_bot"])
        items = [(r["id"], r["payload"]) for r in await store.fetchall("SELECT id, payload FROM alerts")]

        async def killed(outcomes):  # the process dies after the fsync, before the store records it
            raise RuntimeError("killed")

        with pytest.raises(RuntimeError):
            await JsonlSink(path).deliver(items, killed)
        assert sorted(_ids(path)) == sorted(i for i, _ in items)
        counts = await deliver_alerts(store, config)
        assert counts["delivered"] == 2 and counts["pending"] == 0
        assert counts["written"] == {str(path): 2}
        assert sorted(_ids(path)) == sorted(i for i, _ in items)  # each once

        with path.open("ab") as handle:  # died in the middle of writing a line
            handle.write(b'{"id": "alrt_torn", "type": "mirr')
        await _raise(store, ["c_bot"])
        assert (await deliver_alerts(store, config))["delivered"] == 1
        assert (await deliver_alerts(store, config))["delivered"] == 0
        states = {r[0] for r in await store.fetchall("SELECT state FROM alerts")}
    ids = _ids(path)  # every line is whole JSON again
    assert len(ids) == len(set(ids)) == 3 and "alrt_torn" not in ids and states == {"delivered"}
    assert json.loads(path.read_text().splitlines()[-1])["subject"] == "bot:c_bot"


@pytest.mark.parametrize("header", ["99999999999999", "9" * 400, "1e400", "Fri, 31 Dec 9999 23:59:59 GMT", "-5",
                                    "soon", "\u00b2", "", "Thu, 01 Jan 1970 00:00:00 GMT", "nan"],
                         ids=lambda h: h[:20] or "empty")
def test_a_retry_after_of_any_size_or_form_never_raises(header):
    outcome = classify(429, header, "slow down")
    assert outcome.state == "retry"
    assert outcome.retry_after is None or 0 <= outcome.retry_after < float("inf")


def test_retry_after_seconds_clamps_to_a_maximum():
    from crawler.retry import retry_after_seconds

    assert retry_after_seconds("99999999999999", maximum=3600) == 3600
    assert retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", maximum=3600) == 3600
    assert retry_after_seconds("120", maximum=3600) == 120
    assert retry_after_seconds("-5", maximum=3600) is None and retry_after_seconds("soon") is None


def test_sink_errors_are_scrubbed_of_url_parts_by_value():
    sink = WebhookSink("https://cases.example/hooks/Pa7hT0ken9xQ?token=Qu3ryT0ken42", SECRET)
    text = sink.scrub("Cannot POST /hooks/Pa7hT0ken9xQ?token=Qu3ryT0ken42 (Qu3ryT0ken42)")
    assert "Pa7hT0ken9xQ" not in text and "Qu3ryT0ken42" not in text and text.startswith("Cannot POST /hooks/***")
