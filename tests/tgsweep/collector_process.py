"""A `tgsweep collector --account NAME` process for the distributed kill test.

The real run_collector (the lease, the sweeps, SIGTERM) with the offline Telegram of tests/crawler/telethon
(real Telethon types) instead of a logged-in client; every request it makes, after the lease check, is
noted as "<pid> <monotonic time>" in a file, so the test can show no two processes used the account at once.

Usage: python -m tests.tgsweep.collector_process CONFIG ACCOUNT NOTES
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from crawler.telethon.collect import TelethonCollector
from tests.crawler.telethon.test_collect import world
from tgsweep.config import load_config
from tgsweep.work.collector import run_collector


def main(config_path: str, account: str, notes_path: str) -> int:
    config = load_config(config_path)
    notes = open(notes_path, "a", buffering=1)  # one line per request, written at once
    checked = TelethonCollector._request

    async def noted(self: TelethonCollector, kind: str) -> None:
        await checked(self, kind)  # the lease first: a process that lost it raises before noting
        notes.write(f"{os.getpid()} {time.monotonic()}\n")
    TelethonCollector._request = noted  # type: ignore[method-assign]

    async def run() -> int:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        return await run_collector(config, account, world(), stop, poll_seconds=0.1)
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
