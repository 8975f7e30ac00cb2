"""`tgsweep run` (the scheduled service) and `tgsweep status`."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from tgsweep.cli.common import out
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from scheduler import run_service

    return run_service(config)


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from tgsweep.status import format_status, gather_status

    status = asyncio.run(gather_status(config))
    if args.json:
        sys.stdout.write(json.dumps(status, ensure_ascii=False, indent=2) + "\n")
    else:
        for line in format_status(status, channels=args.channels):
            out.print(line)
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("run", help="the scheduled service, until stopped (SIGINT/SIGTERM stop it cleanly)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="jobs' last and next runs, cursors, flood waits, alert backlog, errors")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--channels", action="store_true", help="also a line per channel (cursor, last error)")
    p.set_defaults(func=cmd_status)
