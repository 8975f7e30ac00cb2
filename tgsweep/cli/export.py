"""`tgsweep export messages`."""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tgsweep.cli.common import err, jsonl, open_store, output
from tgsweep.config import load_config


def cmd_export_messages(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.exports import export_messages
    from tgsweep.config import channel_name

    try:
        channels = [channel_name(c) for c in args.channel] if args.channel else None
    except ValueError as exc:
        err.print(str(exc))
        return 2

    async def export() -> int:
        count = 0
        store = await open_store(config)
        messages = export_messages(store, channels)
        try:
            with output(args.output) as handle:
                async for message in messages:
                    jsonl(message, handle)
                    count += 1
        finally:
            await messages.aclose()  # before the store closes, also when the reader left (BrokenPipeError)
            await store.close()
        return count

    count = asyncio.run(export())
    if args.output not in (None, "-"):
        err.print(f"exported {count} messages to {args.output}")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("export", help="export collected data")
    export = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = export.add_parser("messages", help="JSON Lines, one object per collected post")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    q.set_defaults(func=cmd_export_messages)
