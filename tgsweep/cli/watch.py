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


def cmd_watch_import(args: argparse.Namespace) -> int:
    """The channels and bots someone else's STIX bundle or MISP event names, onto the watchlist with where they
    came from; its media hashes into a bank, matched against the store at once."""
    import hashlib
    from pathlib import Path

    from detectors.media.banks import import_bank, match_all_media, parse_hash_rows, settings_from
    from store.alerts import alert_settings
    from tgsweep.config import channel_name

    config = load_config(args.config)
    try:
        raw = Path(args.file).read_bytes()
        if args.format == "stix":
            from graph.stix import read_stix as read
        else:
            from graph.misp import read_misp as read
        shared = read(raw.decode("utf-8"))
        names = [channel_name(n) for n in shared.channels + shared.bots]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        err.print(f"{args.file}: {exc}")
        return 2
    what = "STIX bundle" if args.format == "stix" else "MISP event"
    provenance = (f"imported from the {what} {Path(args.file).name} (sha256 {hashlib.sha256(raw).hexdigest()[:16]})"
                  + (f" shared by {shared.source}" if shared.source else ""))
    parsed = parse_hash_rows((kind, h[kind], h.get("label", "")) for h in shared.hashes
                             for kind in ("sha256", "md5", "pdq") if h.get(kind))
    bank = args.bank or f"{args.format}-{(shared.source or Path(args.file).stem).lower().replace(' ', '_')[:40]}"

    async def load() -> tuple[int, dict]:
        store = await open_store(config)
        try:
            for name in names:
                await store.set_watched(name, True, provenance)
            added = await import_bank(store, bank, parsed, str(Path(args.file).resolve())) if parsed.hashes else 0
            matches = await match_all_media(store, settings_from(config), alert_settings(config)) \
                if parsed.hashes else {}
        finally:
            await store.close()
        return added, matches

    added, matches = asyncio.run(load())
    out.print(f"{args.file}: {len(shared.channels)} channel(s) and {len(shared.bots)} bot(s) on the watchlist "
              f"({provenance}); {len(parsed.hashes)} hash(es) into bank {bank} ({added} new)"
              + (f"; {len(parsed.problems)} bad hash(es) skipped" if parsed.problems else ""))
    if matches:
        out.print(f"matched against the store: {matches}")
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
    q = watch.add_parser("import", help="the channels and bots a STIX bundle or MISP event names, with its hashes")
    q.add_argument("format", choices=["stix", "misp"])
    q.add_argument("file", metavar="FILE")
    q.add_argument("--bank", metavar="NAME", help="the bank its media hashes go into (default: <format>-<source>)")
    q.set_defaults(func=cmd_watch_import)
