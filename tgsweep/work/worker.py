"""`tgsweep worker` and `tgsweep dispatch`: the Procrastinate app opened on the store's database, then run."""
from __future__ import annotations

import os
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from tgsweep.config import Config
from tgsweep.work import tasks

QUEUES = ("dispatch", "collect", "analysis")


@asynccontextmanager
async def opened(config: Config) -> AsyncIterator[Any]:
    """The queue (its tables created when missing) on the store's PostgreSQL, open for this block."""
    from store.postgres.queue import ProcrastinateQueue, build_app

    url = config.storage.url_value
    if not url:
        raise ValueError(f"distributed mode needs the store on PostgreSQL: set [storage] url in {config.source}")
    tasks.use_config(config)
    app = build_app(url, tasks.blueprint, config.distributed.tick_seconds)
    async with app.open_async():
        queue = ProcrastinateQueue(app)
        await queue.ensure_schema()
        yield queue


async def run_worker(config: Config, queues: list[str] | None, concurrency: int) -> None:
    """Take jobs until stopped (SIGINT/SIGTERM: running jobs finish, or are cut after the grace time)."""
    import logging

    logging.getLogger("procrastinate").setLevel(logging.WARNING)  # a line per tick otherwise; jobs log their own
    async with opened(config) as queue:
        await queue.app.run_worker_async(
            queues=queues, concurrency=concurrency, name=f"{socket.gethostname()}:{os.getpid()}",
            update_heartbeat_interval=config.distributed.heartbeat_seconds,
            stalled_worker_timeout=config.distributed.stalled_seconds,
            shutdown_graceful_timeout=config.schedule.stop_grace_seconds, delete_jobs="successful")


async def dispatch(config: Config) -> dict[str, Any] | None:
    """One dispatcher pass now (the workers' periodic tick does the same); None while another runs."""
    from tgsweep.work.dispatch import dispatch_alone

    async with opened(config) as queue:
        return await dispatch_alone(config, queue)
