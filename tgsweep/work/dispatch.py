"""The dispatcher: which channels are due, queued a batch per job; the analysis on its interval; dead workers' jobs again.

Run by the periodic `tick` job (once per `[distributed] tick_seconds`, whichever worker takes it) and by
`tgsweep dispatch`. The due channels come from the cursor table (last success) and the dispatch marks,
so a tick that runs twice, or late, queues nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from crawler.web.stage import channels_to_sweep
from store.work import DispatchStore, WorkQueue
from tgsweep.config import Config
from tgsweep.work import plan


async def watch_intervals(store: Any, config: Config) -> dict[str, float]:
    """Every channel the web sweeps cover, with its interval in minutes (its group's, discovery's, or [watch]'s)."""
    intervals = {name: config.watch.interval_minutes for name in await channels_to_sweep(store, config, None)}
    for group in config.watch.groups:
        if "web" in group.sources:
            for name in await channels_to_sweep(store, config, None, group=group.name):
                intervals.setdefault(name, group.interval_minutes)
    if config.discovery.enabled and config.discovery.interval_minutes > 0:
        for name in await channels_to_sweep(store, config, None, discovered=True):
            intervals.setdefault(name, config.discovery.interval_minutes)
    return intervals


async def dispatch_once(config: Config, store: Any, queue: WorkQueue, now: datetime | None = None) -> dict[str, Any]:
    """One pass: retry stalled jobs, queue the due batches, queue the analysis when due. What it did."""
    marks_store: DispatchStore = store
    now = now or datetime.now(timezone.utc)
    at = now.isoformat(timespec="seconds")
    settings = config.distributed
    retried, given_back = await queue.retry_stalled(settings.stalled_seconds)
    # their job ended unrun: due again now, whenever they were queued, and at every tick until queued
    # (a batch's pending job may refuse them now); only a kill between these two lines delays them an interval
    await marks_store.forget_dispatched("web", given_back)
    marks = await marks_store.dispatch_marks("web")
    names = plan.due(await watch_intervals(store, config), await store.last_successes("web"), marks, now)
    queued: list[str] = []
    jobs = 0
    for bucket, batch in sorted(plan.batches(names, settings.buckets).items()):
        if await queue.defer_collect(bucket, batch):
            queued += batch
            jobs += 1
    await marks_store.mark_dispatched("web", queued, at)
    analysis = False
    if plan.due({"store": settings.analysis_minutes}, {}, await marks_store.dispatch_marks("analysis"), now):
        analysis = await queue.defer_analysis()
        if analysis:
            await marks_store.mark_dispatched("analysis", ["store"], at)
    return {"retried": retried, "due": len(names), "queued_channels": len(queued), "collect_jobs": jobs,
            "analysis": analysis}


async def dispatch_alone(config: Config, queue: WorkQueue) -> dict[str, Any] | None:
    """One pass on its own store connection, unless another pass runs now (then None): the tick and
    `tgsweep dispatch` alike."""
    from store import open_store
    from store.postgres.queue import ProcrastinateQueue

    async with ProcrastinateQueue.exclusive(config.storage.url_value or "") as alone:
        if not alone:
            return None
        store = await open_store(config.storage.database, config.storage.url_value)
        try:
            return await dispatch_once(config, store, queue)
        finally:
            await store.close()
