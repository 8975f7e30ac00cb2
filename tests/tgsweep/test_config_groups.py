"""`[[watch.groups]]` and `[discovery] interval_minutes`: what loads, and what stops loading with which message."""
from __future__ import annotations

from pathlib import Path

import pytest

from tgsweep.config import ConfigError, parse_config


def load(text: str):
    return parse_config(text, Path("/etc/tgsweep/config.toml"), {})


def test_groups_load_with_defaults_and_the_default_group_is_the_rest():
    config = load('[watch]\nchannels = ["alpha_news", "Faceswap_Hub"]\n'
                  '[[watch.groups]]\nname = "hot"\nchannels = ["@faceswap_hub"]\ninterval_minutes = 10\n')
    hot = config.watch.group("hot")
    assert (hot.channels, hot.interval_minutes, hot.sources) == (["faceswap_hub"], 10, ["web", "telethon"])
    assert config.watch.grouped == {"faceswap_hub": "hot"}
    assert config.watch.configured == ["alpha_news", "faceswap_hub"]
    assert config.watch.group("cold") is None
    assert config.discovery.interval_minutes == 0


@pytest.mark.parametrize("text, expected", [
    ('[[watch.groups]]\nname = "Hot"', "[[watch.groups]] #1 name: expected a group name of a-z, 0-9, _ and -"),
    ('[[watch.groups]]\nname = "default"', "[[watch.groups]] #1 name: expected a group name"),
    ('[[watch.groups]]\nchannels = ["alpha_news"]', "[[watch.groups]] #1 name: missing (required)"),
    ('[[watch.groups]]\nname = "a"\n[[watch.groups]]\nname = "a"', "[watch]: [[watch.groups]] name 'a' is used twice"),
    ('[[watch.groups]]\nname = "a"\nchannels = ["alpha_news"]\n[[watch.groups]]\nname = "b"\nchannels = ["Alpha_News"]',
     "[watch]: channel 'alpha_news' is in two groups ('a' and 'b')"),
    ('[[watch.groups]]\nname = "a"\nsources = ["irc"]', "[[watch.groups]] #1 sources.0: Input should be 'web' or 'telethon'"),
    ('[[watch.groups]]\nname = "a"\nsources = []', "[[watch.groups]] #1 sources: expected at least one of web, telethon"),
    ('[[watch.groups]]\nname = "a"\ninterval_minutes = 0', "[[watch.groups]] #1 interval_minutes: Input should be greater than 0"),
    ('[[watch.groups]]\nname = "a"\nchannels = ["no spaces"]', "is not a Telegram username"),
    ('[[watch.groups]]\nname = "a"\nevery = 3', "[[watch.groups]] #1 every: unknown key"),
    ("[discovery]\ninterval_minutes = -1", "[discovery] interval_minutes: Input should be greater than or equal to 0"),
])
def test_group_errors_name_the_key(text, expected):
    with pytest.raises(ConfigError) as info:
        load(text)
    assert str(info.value).startswith("/etc/tgsweep/config.toml: ")
    assert expected in str(info.value)
