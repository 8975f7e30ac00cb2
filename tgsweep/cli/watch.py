"""`tgsweep watch add|remove|list`: the watchlist kept in the database."""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tgsweep.cli.common import did_you_mean, err, json_lines, open_store, out, with_store
from tgsweep.config import load_config


def cmd_watch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from tgsweep.config import channel_name

    names = []
    try:
        names = [channel_name(given) for given in args.names or []]
        if args.action == "remove":  # a typo must not report success while the real channel goes on being swept
            watched = {e["channel"] for e in with_store(config, lambda store: store.watchlist(config.watch.configured))
                       if e["swept"]}
            for name in names:
                if name not in watched:
                    raise ValueError(f"{name}: not on the watchlist{did_you_mean(name, watched)}")
    except ValueError as exc:
        err.print(str(exc))
        return 2

    async def change() -> list[dict]:
        store = await open_store(config)
        try:
            for name in names:
                await store.set_watched(name, args.action == "add")
            return await store.watchlist(config.watch.configured)
        finally:
            await store.close()

    entries = asyncio.run(change())
    grouped = config.watch.grouped  # [[watch.groups]]: each group swept on its own schedule; the rest is "default"
    for entry in entries:
        entry["group"] = grouped.get(entry["channel"], "default")
    if args.action == "list":
        if json_lines(args, entries):
            return 0
        for e in entries:
            where = " and ".join(w for w, yes in (("config", e["in_config"]), ("database", e["in_database"])) if yes)
            out.print(f"{e['channel']}  " + (f"watched ({where})" if e["swept"] else
                                             f"removed {e['removed_at']}" + (" (still in the config file; the "
                                                                             "removal wins)" if e["in_config"] else ""))
                      + f"  group {e['group']}")
        if not entries:
            out.print("the watchlist is empty")
        return 0
    for name in names:
        if args.action == "add":
            out.print(f"{name}: on the watchlist; the next sweep takes it (a running service too, no restart)")
        else:
            in_config = name in config.watch.configured
            out.print(f"{name}: removed from the watchlist; no later sweep takes it"
                      + (f" (it is still in [watch] channels of {config.source}: the removal wins until "
                         "`tgsweep watch add`)" if in_config else ""))
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("watch", help="the watchlist: add, remove, list (takes effect without a restart)")
    watch = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = watch.add_parser("add", help="put channels on the watchlist")
    q.add_argument("names", nargs="+", metavar="NAME")
    q.set_defaults(func=cmd_watch)
    q = watch.add_parser("remove", help="take channels off the watchlist (overrides the config file)")
    q.add_argument("names", nargs="+", metavar="NAME")
    q.set_defaults(func=cmd_watch)
    q = watch.add_parser("list", help="the watchlist, with where each channel comes from")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_watch, names=[])
