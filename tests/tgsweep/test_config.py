"""Config: a wrong file stops with one message naming the file, the key and what was expected."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tgsweep.config import Config, ConfigError, Sink, load_config, parse_config, starter_config

ROOT = Path(__file__).resolve().parents[2]


def error_for(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/etc/tgsweep/config.toml"), env or {})
    return str(info.value)


def test_starter_config_loads_with_defaults_and_relative_paths(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(starter_config())
    config = load_config(path)
    assert config.web.base_url == "https://t.me"
    assert config.storage.database == tmp_path / "tgsweep.db"
    assert config.storage.media_dir == tmp_path / "media"
    assert config.source == path


def test_repo_example_is_the_packaged_starter():
    assert (ROOT / "config.example.toml").read_text() == starter_config()


def test_every_setting_is_in_the_starter_config():
    """(tests/test_docs.py checks each is documented in docs/configuration.md.)"""
    starter = starter_config()
    sections = [(name, field.annotation) for name, field in Config.model_fields.items() if name != "source"]
    sections = [(name, Sink if name == "alerts" else model) for name, model in sections]
    for section, model in sections:
        for key in model.model_fields:
            assert re.search(rf"^#?\s*{key}\s*=", starter, re.M), f"starter config lacks [{section}] {key}"


@pytest.mark.parametrize("text, expected", [
    ('[web]\nrequest_delay = "fast"', "[web] request_delay: Input should be a valid number"),
    ("[webb]\nrequest_delay = 1", "[webb]: unknown section; did you mean [web]? (expected one of [storage], [web]"),
    ("[web]\ndelay = 1", "[web] delay: unknown key"),
    ("[watch]\nchannels = \"news\"", "[watch] channels: Input should be a valid list"),
    ("[watch]\nchannels = [\"no spaces\"]", "is not a Telegram username"),
    ("[web]\nbase_url = \"t.me\"", "[web] base_url: expected an http(s) URL"),
    ("[discovery]\nmax_depth = -1", "[discovery] max_depth: Input should be greater than or equal to 0"),
    ("[media]\nkeep = \"some\"", "[media] keep: Input should be 'all' or 'none'"),
    ('[[alerts.sinks]]\ntype = "webhook"', "[[alerts.sinks]] #1: a webhook sink needs url"),
    ("[web\n", "not valid TOML"),
])
def test_errors_name_file_key_and_expectation(text, expected):
    message = error_for(text)
    assert message.startswith("/etc/tgsweep/config.toml: ")
    assert expected in message


def test_env_interpolation_and_missing_variable():
    text = '[telethon]\napi_id = 1\napi_hash = "${TG_HASH}"\n'
    config = parse_config(text, Path("c.toml"), {"TG_HASH": "s3cr3t-value"})
    assert config.telethon.api_hash.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(config) and "s3cr3t-value" not in str(config.model_dump())
    assert "[telethon] api_hash: environment variable TG_HASH is not set" in error_for(text)


def test_secret_values_never_appear_in_errors():
    message = error_for('[[alerts.sinks]]\ntype = "webhook"\nsecret = "whsec_TOPSECRET"')
    assert "TOPSECRET" not in message
    message = error_for('[telethon]\napi_hash = 12345678')
    assert "12345678" not in message and "[telethon] api_hash" in message


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="tgsweep init"):
        load_config(tmp_path / "nope.toml")


WHSEC = "whsec_dGdzd2VlcC1jb25maWctdGVzdC1rZXk="


@pytest.mark.parametrize("url, problem", [
    ("cases.example/hook?token=SECRETQ1x", "must start with http:// or https://"),
    ("ftp://cases.example/hook?token=SECRETQ1x", "must start with http:// or https://"),
    ("https:///hook?token=SECRETQ1x", "has no host"),
    ("https://user:SECRETQ1x@/hook", "has no host"),
    ("https://cases.example/ho ok?token=SECRETQ1x", "contains spaces or control characters"),
    ("https://cases.example/hook?token=SECRETQ1x\t", "contains spaces or control characters"),
    ("http://cases.example:99999/hook?token=SECRETQ1x", "port must be a number from 1 to 65535"),
    ("http://cases.example:0/hook?token=SECRETQ1x", "port must be a number from 1 to 65535"),
    ("http://cases.example:8o8o/hook?token=SECRETQ1x", "port must be a number from 1 to 65535"),
    ("http://[::1/hook?token=SECRETQ1x", "is not a valid URL"),
    ("http://cases..example/hook?token=SECRETQ1x", "host is not a valid host name"),
])
def test_webhook_urls_are_checked_at_load_without_echoing_them(url, problem):
    message = error_for(f'[[alerts.sinks]]\ntype = "webhook"\nurl = "{url}"\nsecret = "{WHSEC}"\n'
                        '[[alerts.sinks]]\ntype = "jsonl"\npath = "a.jsonl"\n')
    assert f"[[alerts.sinks]] #1 url: {problem}" in message
    assert "SECRETQ1x" not in message and "cases" not in message


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://[::1]:8443/h?token=x", "https://cases.example",
                                 "HTTPS://Cases.Example/Hooks/T0/B0/abc?x=1&y=%20", "http://localhost/"])
def test_good_webhook_urls_load(url):
    text = f'[[alerts.sinks]]\ntype = "webhook"\nurl = "{url}"\nsecret = "{WHSEC}"\n'
    config = parse_config(text, Path("c.toml"), {})
    assert config.alerts.sinks[0].url == url


@pytest.mark.parametrize("text", [
    '[telethon]\napi_id = "0123456789abcdef0123456789abcdef"',  # the API hash put in api_id by mistake
    '[telethon]\napi_hash = ["0123456789abcdef0123456789abcdef"]',
    '[telethon]\nstring_session = 123456789012345678901234567890',
    '[telethon]\nsession = ["0123456789abcdef0123456789abcdef"]',
    '[alerts]\nsinks = ["https://cases.example/hook?token=0123456789abcdef0123456789abcdef"]',
    '[[alerts.sinks]]\ntype = "webhook"\nurl = ["https://h/?t=0123456789abcdef0123456789abcdef"]\nsecret = "x"',
    '[[alerts.sinks]]\ntype = "webhook"\nurl = "https://h/"\nsecret = ["0123456789abcdef0123456789abcdef"]',
    '[serve]\ntoken = 123456789012345678901234567890',
    '[serve]\ntoken_file = 123456789012345678901234567890',
])
def test_config_errors_never_echo_secret_bearing_values(text):
    message = error_for(text)
    assert "0123456789abcdef" not in message and "1234567890123" not in message
    assert "(got" not in message and re.search(r"\[(telethon|alerts|\[alerts\.sinks\]\]|serve)", message)


def test_secrets_of_a_loaded_config_are_known_to_the_scrubber():
    from tgsweep.redact import redact

    parse_config('[telethon]\napi_id = 1\napi_hash = "0123456789abcdef0123456789abcdee"\n'
                 'string_session = "1BVtsOK4Bu2JxSGVzc2lvbkxvbmdTdHJpbmc="\n'
                 '[serve]\ntoken = "explorer-T0ken-1"\n'
                 '[[alerts.sinks]]\ntype = "webhook"\n'
                 'url = "https://u:pw-S3cret@h.example/hooks/Pa7hT0ken?key=K3y-value"\n'
                 f'secret = "{WHSEC}"\n', Path("c.toml"), {})
    line = ("0123456789abcdef0123456789abcdee 1BVtsOK4Bu2JxSGVzc2lvbkxvbmdTdHJpbmc= explorer-T0ken-1 pw-S3cret "
            f"Pa7hT0ken K3y-value {WHSEC} /hooks/ h.example")
    assert redact(line) == "*** *** *** *** *** *** *** /hooks/ h.example"


@pytest.mark.parametrize("text, hint", [
    ("[web]\nrequest_dely = 2\n", "[web] request_dely: unknown key; did you mean request_delay?"),
    ("[wbe]\nx = 1\n", "[wbe]: unknown section; did you mean [web]?"),
    ('[[alerts.sinks]]\ntype = "jsonl"\npaht = "a.jsonl"\n', "#1 paht: unknown key; did you mean path?"),
])
def test_a_mistyped_key_gets_a_did_you_mean(text, hint, tmp_path):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.toml")
    assert hint in str(caught.value)
