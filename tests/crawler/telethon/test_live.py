"""Against real Telegram, only when an account is provided; skipped (saying how to run it) otherwise.

    TG_API_ID=... TG_API_HASH=... TG_SESSION="$(cat session.txt)" python -m pytest tests/crawler/telethon/test_live.py

TG_SESSION is a StringSession (`tgsweep login --export-string session.txt`); TG_LIVE_CHANNEL
picks the public channel (default: telegram). Reads only: nothing is sent, nothing joined.
"""
from __future__ import annotations

import json
import os

import pytest

from store.sqlite import Store
from crawler.telethon.client import build_client, ensure_authorised
from crawler.telethon.collect import sweep_telethon
from tgsweep.config import parse_config

NEEDED = ("TG_API_ID", "TG_API_HASH", "TG_SESSION")
pytestmark = pytest.mark.skipif(
    not all(os.environ.get(n) for n in NEEDED),
    reason="live Telegram test: set TG_API_ID, TG_API_HASH and TG_SESSION (a StringSession from "
           "`tgsweep login --export-string FILE`) to run it; optional TG_LIVE_CHANNEL (default telegram)")


async def test_live_sweep_collects_then_resolves_nothing_again(tmp_path):
    name = os.environ.get("TG_LIVE_CHANNEL", "telegram").lower()
    text = (f'[storage]\ndatabase = "db.sqlite"\nmedia_dir = "media"\n[watch]\nchannels = {json.dumps([name])}\n'
            '[media]\ndownload = false\n[telethon]\napi_id = "${TG_API_ID}"\napi_hash = "${TG_API_HASH}"\n'
            'string_session = "${TG_SESSION}"\n')
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = parse_config(text, path)
    client = build_client(config)
    await ensure_authorised(client, config)
    store = await Store.open(config.storage.database)
    try:
        _, first, _ = await sweep_telethon(config, store, client)
        assert first.new_posts > 0, first.as_dict()
        _, second, _ = await sweep_telethon(config, store, client)
        assert second.requests.get("resolve", 0) == 0 and second.requests.get("full_channel", 0) == 0
        assert second.requests.get("history", 0) == 1
    finally:
        await store.close()
        await client.disconnect()
