"""`tgsweep sweep` and `tgsweep login` (the Telethon collector's account)."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from tgsweep.cli.common import channel_names, database_watchlist, err, out
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


def cmd_sweep(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.sweep import STAGES, outcome, print_summary, run_sweep

    try:
        channels = channel_names(config, args.channel) if args.channel else None
    except ValueError as exc:
        err.print(str(exc))
        return 2
    if args.group and not config.watch.group(args.group):  # [[watch.groups]]: one group's channels
        known = ", ".join(g.name for g in config.watch.groups) or "none configured"
        err.print(f"no watchlist group {args.group!r} in {config.source} ([[watch.groups]]: {known})")
        return 2
    if channels and (args.group or args.discovered):
        err.print("--channel names the channels itself: not with --group or --discovered")
        return 2
    if args.discovered and not config.discovery.enabled:
        err.print(f"--discovered: discovery is off ([discovery] enabled = false in {config.source})")
        return 2
    if not (channels or args.group or args.discovered) and not config.watch.configured \
            and not database_watchlist(config):
        err.print(f"nothing to sweep: add channels to [watch] channels in {config.source}, "
                  "run `tgsweep watch add NAME`, or pass --channel NAME")
        return 2
    stages = tuple(s for s in (",".join(STAGES) if args.stages is None else args.stages).split(",") if s)
    if unknown := set(stages) - set(STAGES):
        err.print(f"--stages: no stage {', '.join(sorted(unknown))} (the stages: {', '.join(STAGES)})")
        return 2
    from crawler.telethon.client import NotLoggedIn, TelethonNotConfigured, check_configured

    try:
        if args.source in ("telethon", "all"):
            check_configured(config)  # before anything starts
        result = run_sweep(config, channels, progress=not args.no_progress, source=args.source,
                           group=args.group, discovered=args.discovered, stages=stages)
    except (NotLoggedIn, TelethonNotConfigured) as exc:  # nothing was collected; says what to do
        err.print(str(exc))
        return 2
    print_summary(result, out)
    return 0 if outcome(result) == "ok" else 1


def cmd_login(args: argparse.Namespace) -> int:
    """`tgsweep login`: interactive first login of the unit's account (never echoes api_hash or session)."""
    config = load_config(args.config)
    setup_logging(config.logging)
    from crawler.telethon.client import TelethonNotConfigured, login, session_file

    try:
        who = asyncio.run(login(config, export_string=Path(args.export_string) if args.export_string else None))
    except TelethonNotConfigured as exc:
        err.print(str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - a wrong code or password: say so, never the secrets
        from telethon.errors import RPCError

        err.print(f"login failed: {type(exc).__name__}" + (f": {exc}" if isinstance(exc, RPCError) else ""))
        return 1
    where = ("the StringSession in [telethon] string_session" if config.telethon.string_session is not None
             else f"session file {session_file(config)} (mode 0600)")
    out.print(f"logged in as {who}; kept in {where}")
    if args.export_string:
        out.print(f"StringSession written to {args.export_string} (mode 0600); set TG_SESSION from it")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("sweep", help="one sweep now: collect, then every later stage")
    p.add_argument("--source", choices=["web", "telethon", "all"], default="web")
    p.add_argument("--channel", action="append", metavar="NAME", help="sweep only this channel (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--stages", metavar="LIST", help="the later stages to run, comma-separated (default: every one: "
                                                     "enrich,detect,automation,graph,deliver; empty: collect only)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--group", metavar="NAME", help="sweep only this [[watch.groups]] group's channels")
    which.add_argument("--discovered", action="store_true",
                       help="sweep only the channels discovery found (on no watchlist), expanding to max_depth")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("login", help="log the Telethon collector's account in (phone, code, 2FA); session file 0600")
    p.add_argument("--export-string", metavar="FILE",
                   help="also write the session as a StringSession to FILE (created 0600), for string_session")
    p.set_defaults(func=cmd_login)
