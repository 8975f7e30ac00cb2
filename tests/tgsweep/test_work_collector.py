"""`tgsweep collector`: one Telethon account, two collectors, a real PostgreSQL lease between them.

The holder's lease connection is cut from the server's side (as when its process is killed or its
machine drops off the network); from then on it makes no request, and the standby takes over. The
requests each made, and the lease log, show the account was never used by both at once.
"""
from __future__ import annotations

import asyncio
import json
import time

from crawler.telethon.collect import TelethonCollector
from store.postgres import PostgresStore
from tests.crawler.telethon.test_collect import ALL, world
from tgsweep.config import parse_config
from tgsweep.status import format_status, gather_status
from tgsweep.work.collector import run_collector


def _config(folder, url: str):
    text = (f'[storage]\ndatabase = "db.sqlite"\nmedia_dir = "media"\nurl = "{url}"\n'
            f'[watch]\nchannels = {json.dumps(ALL)}\n[media]\nmax_bytes = 1000000\n'
            '[telethon]\napi_id = 12345\napi_hash = "0123456789abcdef0123456789abcdef"\ninterval_minutes = 0.001\n')
    path = folder / "config.toml"
    path.write_text(text)
    return parse_config(text, path, env={})


async def test_two_collectors_never_use_one_account_at_once(tmp_path, pg_url, monkeypatch):
    config = _config(tmp_path, pg_url)
    requests: list[tuple[str, float]] = []  # (collector, when) of every request made
    original = TelethonCollector._call

    async def slow_call(self, kind, make, channel=None):  # every request takes a moment, and is noted
        async def noted():
            requests.append((self.client.name, time.monotonic()))
            await asyncio.sleep(0.005)
            return await make()
        return await original(self, kind, noted, channel)
    monkeypatch.setattr(TelethonCollector, "_call", slow_call)

    clients = {}
    for name in ("first", "second"):
        clients[name] = world()
        clients[name].name = name
        history = clients[name].iter_messages

        def noted_history(*args, _name=name, _history=history, **kwargs):  # a history request, noted too
            requests.append((_name, time.monotonic()))
            return _history(*args, **kwargs)
        clients[name].iter_messages = noted_history
    stop = asyncio.Event()
    first = asyncio.create_task(run_collector(config, "unit", clients["first"], stop, poll_seconds=0.05))
    while not requests and not first.done():
        await asyncio.sleep(0.01)
    assert not first.done(), first.result()
    second = asyncio.create_task(run_collector(config, "unit", clients["second"], stop, poll_seconds=0.05))
    await asyncio.sleep(0.5)
    assert {who for who, _ in requests} == {"first"}  # the standby waits

    store = await PostgresStore.open(pg_url)
    try:  # the first holder's lease connection dies
        killed = await store.fetchall("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                      "WHERE locktype = 'advisory' AND classid = 7413 AND granted")
        assert killed == [(True,)]
        cut = time.monotonic()
        assert await asyncio.wait_for(first, 30) == 1  # it stopped: lease lost
        while not any(who == "second" for who, _ in requests) and not second.done():
            await asyncio.sleep(0.01)
        stop.set()
        assert await asyncio.wait_for(second, 60) == 0
        log = [tuple(r) for r in await store.fetchall("SELECT holder, event FROM lease_log ORDER BY id")]
        custody = await store.verify()
    finally:
        await store.close()

    firsts = [t for who, t in requests if who == "first"]
    seconds = [t for who, t in requests if who == "second"]
    assert max(firsts) < min(seconds) and cut < min(seconds)  # never both: the second only after the first stopped
    events = [event for _, event in log]
    assert events[0] == "acquired" and events[-1] == "released" and sorted(events[1:3]) == ["acquired", "lost"]
    assert custody.ok, custody.problems
    shown = "\n".join(format_status(await gather_status(config)))  # tgsweep status: the account's lease
    assert "leases: unit released by " in shown and "stalled jobs (their worker stopped beating): none" in shown


async def test_a_standby_stops_when_told_while_waiting(pg_url):
    from store import open_store
    from store.postgres.lease import Lease

    await (await open_store("unused.sqlite", pg_url)).close()  # the schema
    holder = await Lease.acquire(pg_url, "unit", "holder", 0.05)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)  # SIGTERM to the standby
    try:
        assert await asyncio.wait_for(Lease.acquire(pg_url, "unit", "standby", 0.05, stop), 10) is None
        await holder.check()  # still the holder's
    finally:
        await holder.release()
    again = await asyncio.wait_for(Lease.acquire(pg_url, "unit", "next", 0.05), 10)  # released: free again
    assert again is not None
    await again.release()
