"""Which channels a sweep takes: `tgsweep sweep --group NAME` ([[watch.groups]]), the default group
without the grouped channels, and `--discovered` (the `discover` job) when `[discovery]
interval_minutes` > 0 leaves discovered channels out of watchlist sweeps. Real Scrapy crawls
against the loopback t.me server."""
from __future__ import annotations

import json

from store.records import Forward, Post
from tests.crawler.web.test_spider import START, plain_channel, stored_ids, world_ids
from tgsweep.demo.tme_server import Entity, World, fill_text_entities


def feeds(server) -> set[str]:
    return {r["path"].removeprefix("/s/") for r in server.requests("/s/")}


def test_sweep_group_takes_only_its_channels_and_the_default_group_the_rest(sweeps, tmp_path):
    world = World(page_size=20)
    for n, name in enumerate(["alpha_news", "hot_one", "hot_two"]):
        world.add(plain_channel(name, 5001 + n, 3))
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha_news", "hot_one"])
        with config.open("a") as handle:  # hot_one is in [watch] channels too: its group wins
            handle.write('[[watch.groups]]\nname = "hot"\nchannels = ["hot_one", "hot_two"]\ninterval_minutes = 5\n')

        unknown = sweeps.sweep(config, "--group", "cold")
        assert unknown.returncode == 2 and "no watchlist group 'cold'" in unknown.stderr and "hot" in unknown.stderr
        off = sweeps.sweep(config, "--discovered")
        assert off.returncode == 2 and "discovery is off" in off.stderr

        done = sweeps.sweep(config, "--group", "hot")
        assert done.returncode == 0, done.stdout + done.stderr
        assert feeds(server) == {"hot_one", "hot_two"}
        assert stored_ids(sweeps, config, "hot_two") == world_ids(world, "hot_two")
        assert stored_ids(sweeps, config, "alpha_news") == []

        server.clear_requests()
        done = sweeps.sweep(config)
        assert done.returncode == 0, done.stdout + done.stderr
        assert feeds(server) == {"alpha_news"}  # the grouped channels are the group's jobs' only

        listed = {e["channel"]: e["group"] for e in map(json.loads, sweeps.cli(config, "watch", "list", "--json")
                                                         .stdout.splitlines())}
        assert listed == {"alpha_news": "default", "hot_one": "hot", "hot_two": "hot"}
        assert "hot_two  watched (config and database)  group hot" in sweeps.cli(config, "watch", "list").stdout

        assert sweeps.cli(config, "watch", "remove", "hot_two").returncode == 0
        server.clear_requests()
        done = sweeps.sweep(config, "--group", "hot")
        assert done.returncode == 0, done.stdout + done.stderr
        assert feeds(server) == {"hot_one"}  # a removal wins over the group listing


def forwarding(username: str, cid: int, source: str) -> Entity:
    entity = Entity(username=username, id=cid, title=username.title())
    entity.posts = [fill_text_entities(Post(
        channel=username, id=1, date=START.isoformat(), text="Shared", channel_id=cid,
        forwarded_from=Forward(channel=source, post=1, name=source.title(), url=f"https://t.me/{source}/1")))]
    return entity


def test_with_a_discover_interval_the_watchlist_sweep_leaves_discovered_channels_to_the_discover_job(
        sweeps, tmp_path):
    world = World(page_size=20)
    world.add(forwarding("alpha_news", 6001, "beta_chan"))
    world.add(forwarding("beta_chan", 6002, "delta_chan"))  # two hops from the watchlist
    world.add(plain_channel("delta_chan", 6003, 2))
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha_news"],
                                     discovery={"enabled": True, "max_depth": 2, "interval_minutes": 5})
        done = sweeps.sweep(config)
        assert done.returncode == 0, done.stdout + done.stderr
        assert feeds(server) == {"alpha_news"}
        assert "discovered beta_chan (forward in alpha_news/1)" in done.stdout  # noted for the discover job
        assert sweeps.rows(config, "SELECT depth, watched FROM channels WHERE username='beta_chan'") == [(1, 0)]

        server.clear_requests()
        done = sweeps.sweep(config, "--discovered")
        assert done.returncode == 0, done.stdout + done.stderr
        assert feeds(server) == {"beta_chan", "delta_chan"}  # the watchlist is not swept again; max_depth 2 holds
        assert stored_ids(sweeps, config, "delta_chan") == world_ids(world, "delta_chan")
        assert sweeps.rows(config, "SELECT depth FROM channels WHERE username='delta_chan'") == [(2,)]


async def test_a_sweeps_signal_handlers_give_back_the_ones_they_replaced():
    """`tgsweep collector` handles SIGTERM itself (to release its lease): after a sweep, its handler is back."""
    import asyncio
    import os
    import signal

    from crawler.web.stage import _on_signals

    loop = asyncio.get_running_loop()
    got = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, got.set)
    try:
        stop = _on_signals(lambda: None)  # a sweep runs
        stop()  # and ends
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(got.wait(), 5)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
