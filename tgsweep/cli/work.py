"""`tgsweep worker`, `tgsweep dispatch`: distributed mode, on a store in PostgreSQL (tgsweep/work/)."""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tgsweep.cli.common import err, out
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


def _distributed(args: argparse.Namespace) -> Any:
    config = load_config(args.config)
    setup_logging(config.logging)
    if not config.storage.url:
        err.print(f"distributed mode needs the store on PostgreSQL: set [storage] url in {config.source} "
                  "(`tgsweep db copy` moves a SQLite store there)")
        return None
    return config


def cmd_worker(args: argparse.Namespace) -> int:
    from tgsweep.work.worker import QUEUES, run_worker

    config = _distributed(args)
    if config is None:
        return 2
    queues = [q for q in (args.queues or "").split(",") if q] or None
    if queues and (unknown := set(queues) - set(QUEUES)):
        err.print(f"--queues: no queue {', '.join(sorted(unknown))} (the queues: {', '.join(QUEUES)})")
        return 2
    asyncio.run(run_worker(config, queues, args.concurrency))
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    from tgsweep.work.worker import dispatch

    config = _distributed(args)
    if config is None:
        return 2
    done = asyncio.run(dispatch(config))
    if done is None:
        out.print("another dispatcher pass is running (a worker's tick): nothing done")
        return 0
    out.print(f"{done['due']} channel(s) due; {done['queued_channels']} queued in {done['collect_jobs']} collect "
              f"job(s); analysis {'queued' if done['analysis'] else 'not due or already queued'}; "
              f"{done['retried']} stalled job(s) run again")
    return 0


def cmd_collector(args: argparse.Namespace) -> int:
    import signal

    from crawler.telethon.client import NotLoggedIn, TelethonNotConfigured, check_configured
    from tgsweep.work.collector import run_collector

    config = _distributed(args)
    if config is None:
        return 2
    try:
        check_configured(config)
    except TelethonNotConfigured as exc:
        err.print(str(exc))
        return 2

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # finish the request in flight, release the lease
            loop.add_signal_handler(sig, stop.set)
        return await run_collector(config, args.account, stop=stop)

    try:
        return asyncio.run(run())
    except NotLoggedIn as exc:
        err.print(str(exc))
        return 2


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("worker", help="distributed mode: take collect, analysis and dispatch jobs from the queue "
                                      "until stopped (store on PostgreSQL)")
    p.add_argument("--queues", metavar="LIST", help="only these queues, comma-separated: dispatch, collect, analysis "
                                                     "(default: all)")
    p.add_argument("--concurrency", type=int, default=1, metavar="N", help="jobs at once in this process (default 1)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("collector", help="distributed mode: the Telethon collector of one account, holding its "
                                         "lease (a second one on the same account waits as a standby)")
    p.add_argument("--account", default="default", metavar="NAME",
                   help="the account's name: one lease per name (default: default, the [telethon] account)")
    p.set_defaults(func=cmd_collector)
    p = sub.add_parser("dispatch", help="distributed mode: queue the due channels and the analysis now (the "
                                        "workers' periodic tick does it too)")
    p.set_defaults(func=cmd_dispatch)
