"""`tgsweep demo`: the whole pipeline, offline."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tgsweep.cli.common import out


def cmd_demo(args: argparse.Namespace) -> int:
    from tgsweep.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, out)


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("demo", help="the whole pipeline, offline, on a bundled synthetic corpus")
    p.add_argument("--dir", help="where to put the demo's database and outputs (default: a new temp folder)")
    p.set_defaults(func=cmd_demo)
