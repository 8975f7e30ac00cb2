"""`tgsweep collector --account NAME`: one long-lived Telethon collector per account, holding the account's lease.

It waits for the lease (a second collector on the same account is a standby), then sweeps the watchlist
through the API every `[telethon] interval_minutes`, collection only (the `analyse` job does the rest),
checking the lease before every request. Losing the lease stops it at once (exit 1): a supervisor
(systemd, compose) restarts it as a standby.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from typing import Any

from store.work import LeaseLost
from tgsweep.config import Config

log = logging.getLogger("tgsweep.collector")


async def run_collector(config: Config, account: str, client: Any = None, stop: asyncio.Event | None = None,
                        cycles: int | None = None, poll_seconds: float = 5.0) -> int:
    """Collect until `stop` is set (or `cycles` sweeps are done); 1 when the lease was lost, else 0."""
    from crawler.telethon.client import build_client, ensure_authorised
    from crawler.telethon.collect import sweep_telethon
    from detectors.media.stage import fingerprint_fetched
    from store import open_store
    from store.postgres.lease import Lease

    url = config.storage.url_value
    if not url:
        raise ValueError(f"the collector needs the store on PostgreSQL: set [storage] url in {config.source}")
    stop = stop or asyncio.Event()
    await (await open_store(config.storage.database, url)).close()  # the schema, lease_log included, is there
    lease = await Lease.acquire(url, account, f"{socket.gethostname()}:{os.getpid()}", poll_seconds, stop)
    if lease is None:  # stopped while a standby
        return 0
    client = client or build_client(config)
    done = 0
    try:
        await ensure_authorised(client, config)
        while not stop.is_set():
            await lease.check()
            store = await open_store(config.storage.database, url)
            try:
                await sweep_telethon(config, store, client, None, guard=lease.check, account=account,
                                     fingerprint=functools.partial(fingerprint_fetched, store, config))
            finally:
                await store.close()
            done += 1
            if cycles is not None and done >= cycles:
                break
            try:
                await asyncio.wait_for(stop.wait(), config.telethon.interval_minutes * 60)
            except asyncio.TimeoutError:
                pass
        return 0
    except LeaseLost as exc:
        log.error("%s", exc)
        return 1
    finally:
        await client.disconnect()
        await lease.release()
