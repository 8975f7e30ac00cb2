"""What the workers' jobs do: collect a batch of channels, analyse the store, tick (the dispatcher).

Thin: a collect job runs `tgsweep sweep` for its channels in a child process (a fresh Twisted
reactor per crawl, as `tgsweep run` does; the child dies with its worker), collection only; the
store-wide stages run in the `analyse` job, one at a time (lock "analysis"). Each job is idempotent.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from procrastinate import Blueprint

log = logging.getLogger("tgsweep.work")
blueprint = Blueprint()
_config: Any = None  # the worker's configuration (tgsweep/work/worker.py)


def use_config(config: Any) -> None:
    global _config
    _config = config


def current_config() -> Any:
    if _config is None:
        raise RuntimeError("tgsweep's jobs run inside `tgsweep worker` (no configuration in this process)")
    return _config


@blueprint.task(name="collect_web", queue="collect")
async def collect_web(bucket: int, channels: list[str]) -> dict[str, Any]:
    """Collect one batch of channels from the web previews (collection only)."""
    from scheduler import die_with_parent

    config = current_config()
    argv = [sys.executable, "-m", "tgsweep.cli", "--config", str(config.source), "sweep", "--no-progress",
            "--source", "web", "--stages", ""]
    for name in channels:
        argv += ["--channel", name]
    child = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent)
    try:
        out, err = await asyncio.wait_for(child.communicate(), config.schedule.sweep_timeout_minutes * 60)
    except asyncio.TimeoutError:
        child.kill()
        await child.wait()
        raise
    finally:
        if child.returncode is None:  # the worker is stopping: the sweep commits what it has
            child.terminate()
    summary = out.decode(errors="replace").splitlines()[:1]
    if child.returncode not in (0, 1):  # 1: done, with errors recorded in the store
        raise RuntimeError(f"sweep of batch {bucket} exited {child.returncode}: {err.decode(errors='replace')[-500:]}")
    log.info("batch %d: %d channels: %s", bucket, len(channels), summary[0] if summary else "")
    return {"bucket": bucket, "channels": len(channels), "exit": child.returncode}


@blueprint.task(name="analyse", queue="analysis")
async def analyse() -> dict[str, Any]:
    """Every store-wide stage after collection, in data-flow order (tgsweep/sweep.py: PIPELINE)."""
    from store import open_store
    from tgsweep.sweep import PIPELINE, run_stage

    config = current_config()
    store = await open_store(config.storage.database, config.storage.url_value)
    try:
        done = {name: await run_stage(name, run, store, config, None) for name, run in PIPELINE}
    finally:
        await store.close()
    log.info("analysis: %s", ", ".join(f"{name} done" if counts else f"{name}: nothing" for name, counts in done.items()))
    return done


@blueprint.task(name="tick", queue="dispatch", pass_context=True)
async def tick(context: Any, timestamp: int) -> dict[str, Any]:
    """The dispatcher, once per [distributed] tick_seconds (periodic: deferred once whatever the workers)."""
    from store.postgres.queue import ProcrastinateQueue
    from tgsweep.work.dispatch import dispatch_alone

    done = await dispatch_alone(current_config(), ProcrastinateQueue(context.app))
    return done if done is not None else {"skipped": "another dispatcher pass is running"}
