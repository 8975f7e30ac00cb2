"""`tgsweep demo`: the whole pipeline, offline."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tgsweep.cli.common import out


def cmd_demo(args: argparse.Namespace) -> int:
    from tgsweep.demo import run_demo

    from tgsweep.cli.common import err

    if args.store_url and not args.store_url.startswith("postgresql+psycopg://"):
        err.print("tgsweep demo: --store-url takes postgresql+psycopg://user@host:port/database")
        return 2
    if args.store_url and "@" in args.store_url.split("//", 1)[1] and ":" in args.store_url.split("//", 1)[1].split("@")[0]:
        err.print("tgsweep demo: no password on the command line (others can read it); "
                  "PostgreSQL reads it from PGPASSWORD or ~/.pgpass")
        return 2
    return run_demo(Path(args.dir) if args.dir else None, out, args.store_url)


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("demo", help="the whole pipeline, offline, on a bundled synthetic corpus")
    p.add_argument("--dir", help="where to put the demo's database and outputs (default: a new temp folder)")
    p.add_argument("--store-url", metavar="URL",
                   help="run it on this PostgreSQL database (postgresql+psycopg://user@host:port/db) instead of SQLite")
    p.set_defaults(func=cmd_demo)
