"""`tgsweep export messages`."""
from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from tgsweep.cli.common import err, jsonl, open_store, output, with_store
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


def cmd_export_stix(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.stix import gather_stix

    threshold = config.graph.escalation_threshold if args.min_escalation is None else args.min_escalation
    bundle = with_store(config, lambda store: gather_stix(store, config, threshold))
    text = bundle.serialize(pretty=True, sort_keys=True)
    with output(args.output) as handle:
        handle.write(text + "\n")
    counts: dict[str, int] = {}
    for obj in bundle.objects:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    if args.output not in (None, "-"):
        err.print(f"exported {', '.join(f'{n} {t}' for t, n in sorted(counts.items()))} to {args.output} "
                  f"(TLP {config.sharing.tlp}, escalation >= {threshold:g})")
    return 0


def cmd_export_misp(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.misp import gather_misp

    threshold = config.graph.escalation_threshold if args.min_escalation is None else args.min_escalation
    event = with_store(config, lambda store: gather_misp(store, config, threshold))
    with output(args.output) as handle:
        handle.write(json.dumps({"Event": json.loads(event.to_json())}, indent=1, sort_keys=True) + "\n")
    if args.output not in (None, "-"):
        err.print(f"exported a MISP event of {len(event.objects)} objects to {args.output} "
                  f"(TLP {config.sharing.tlp}, escalation >= {threshold:g})")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("export", help="export collected data")
    export = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = export.add_parser("messages", help="JSON Lines, one object per collected post")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    q.set_defaults(func=cmd_export_messages)
    q = export.add_parser("stix", help="a STIX 2.1 bundle of the escalated channels, bots and known media")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--min-escalation", type=float, metavar="X",
                   help="subjects escalated at least this (default [graph] escalation_threshold)")
    q.set_defaults(func=cmd_export_stix)
    q = export.add_parser("misp", help="a MISP event (JSON) of the escalated channels, bots and known media")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--min-escalation", type=float, metavar="X",
                   help="subjects escalated at least this (default [graph] escalation_threshold)")
    q.set_defaults(func=cmd_export_misp)
