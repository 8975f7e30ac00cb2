"""`tgsweep verify`: integrity, custody chain, hashes, re-derived records."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from tgsweep.cli.common import open_store, out
from tgsweep.config import load_config


def cmd_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def verify():
        from tgsweep.verify import anchor, rederive

        store = await open_store(config)
        try:
            integrity = await store.integrity_check()
            report = await store.verify(config.storage.media_dir)
            report.problems += await rederive(store, config)
            if args.anchor:
                report.problems += await anchor(store, Path(args.anchor))
        finally:
            await store.close()
        return integrity, report

    integrity, report = asyncio.run(verify())
    out.print(f"database integrity: {integrity}")
    out.print(f"custody log: {report.entries} entries; raw captures: {report.captures}; "
              f"media files: {report.media_files}")
    for problem in report.problems:
        out.print(f"PROBLEM {problem}")
    ok = report.ok and integrity == "ok"
    out.print("verified: the chain is intact, every capture matches its hash, and posts, media and verdicts "
              "re-derive from them" + (f"; head anchored in {args.anchor}" if args.anchor else "") if ok else
              f"NOT verified: {len(report.problems)} problem(s)")
    return 0 if ok else 1


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("verify", help="check the custody chain and every stored capture's hash, and re-derive "
                                      "posts, media and verdicts from them")
    p.add_argument("--anchor", metavar="FILE", help="check the chain heads written to FILE before, then append "
                                                    "the current head (keep FILE outside the store)")
    p.set_defaults(func=cmd_verify)
