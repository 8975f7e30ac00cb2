"""Secrets scrubbed by value: every form a configured secret can take in a text or a log line."""
from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

from tgsweep.config import parse_config
from tgsweep.logs import setup_logging
from tgsweep.redact import add, redact, url_secrets

API_HASH = "9f86d081884c7d659a2feaa0c55ad015"
SESSION = "1BVtsOK4Bu0xSGVz+c2lvbi9sb25n/U3RyaW5n=="
WHSEC = "whsec_" + base64.b64encode(b"tgsweep-redact-test-key").decode()
TOKEN = "expl0rer T0ken+&/"
HOOK = "https://alice:pa55-W0rd@hooks.example:8443/services/T0AB12CD/B0EF34GH/Xy9ZabCDef12GhIJ?token=Qu3ry%2BT0k&v=2"


def test_url_secrets_are_the_token_like_parts():
    parts = url_secrets(HOOK)
    assert {"pa55-W0rd", "T0AB12CD", "B0EF34GH", "Xy9ZabCDef12GhIJ", "Qu3ry+T0k"} <= set(parts)
    assert not {"services", "hooks.example", "alice", "8443", "2", "token"} & set(parts)
    assert url_secrets("https://h.example/hooks/tgsweep-alerts") == []


def test_every_form_is_replaced():
    add(SESSION, TOKEN)
    lower_hex = re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(SESSION, safe=""))
    for form in (SESSION, quote(SESSION, safe=""), lower_hex, quote_plus(SESSION),
                 base64.b64encode(SESSION.encode()).decode(), base64.urlsafe_b64encode(SESSION.encode()).decode(),
                 TOKEN, quote(TOKEN), quote_plus(TOKEN), quote(TOKEN, safe="")):
        assert redact(f"before {form} after") == "before *** after", form
    add("short")  # too short to be told apart from ordinary words: not scrubbed
    assert redact("a short text") == "a short text"


def _config(tmp_path: Path, fmt: str):
    return parse_config(f'[telethon]\napi_id = 1\napi_hash = "{API_HASH}"\nstring_session = "{SESSION}"\n'
                        f'[logging]\nformat = "{fmt}"\n[serve]\ntoken = "{TOKEN}"\n'
                        f'[[alerts.sinks]]\ntype = "webhook"\nurl = "{HOOK}"\nsecret = "{WHSEC}"\n',
                        tmp_path / "config.toml", {})


def test_no_log_line_carries_a_secret(tmp_path, capsys):
    forms = [API_HASH, SESSION, quote_plus(SESSION), WHSEC, WHSEC.removeprefix("whsec_"), quote(WHSEC, safe=""),
             TOKEN, quote(TOKEN, safe=""), "pa55-W0rd", "Xy9ZabCDef12GhIJ", "Qu3ry%2BT0k", "Qu3ry+T0k",
             base64.b64encode(b"alice:pa55-W0rd").decode()]
    for fmt in ("text", "json"):
        config = _config(tmp_path, fmt)
        root = logging.getLogger()
        saved = root.handlers[:], root.level
        try:
            setup_logging(config.logging)
            log = logging.getLogger("tgsweep.test")
            for form in forms:
                log.warning("saw %s in a request", form)
                log.info("saw " + form + " in a request")
            try:
                raise RuntimeError(f"failed with {API_HASH} and {HOOK}")
            except RuntimeError:
                log.exception("it broke: %r", {"session": SESSION})
        finally:
            root.handlers[:], _ = saved
            root.setLevel(saved[1])
        text = capsys.readouterr().err
        assert text.count("saw *** in a request") == 2 * len(forms) and "it broke" in text
        if fmt == "json":
            assert all(json.loads(line)["level"] for line in text.splitlines() if line.startswith("{"))
        for form in forms:
            assert form not in text, (fmt, form)
