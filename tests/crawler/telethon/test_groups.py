"""The Telethon collector takes the same watchlist groups as the web sweep (`--source telethon --group NAME`)."""
from __future__ import annotations

from store.sqlite import Store
from crawler.telethon.collect import sweep_telethon
from tests.crawler.telethon.test_collect import Sleeps, make_config, world
from tgsweep.config import parse_config


async def test_telethon_sweeps_a_group_apart_from_the_default_group(tmp_path):
    path = make_config(tmp_path, ["sample_news", "spotifygroup"]).source
    text = path.read_text() + '[[watch.groups]]\nname = "hot"\nchannels = ["spotifygroup", "long_feed"]\n'
    config = parse_config(text, path, env={})
    tg = world()
    store = await Store.open(config.storage.database)
    try:
        _, hot, _ = await sweep_telethon(config, store, tg, sleep=Sleeps(), group="hot")
        _, default, _ = await sweep_telethon(config, store, tg, sleep=Sleeps())
    finally:
        await store.close()
    assert hot.channels == {"spotifygroup", "long_feed"}
    assert default.channels == {"sample_news"}  # spotifygroup is in [watch] channels too: its group takes it
