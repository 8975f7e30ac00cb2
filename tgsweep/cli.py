"""The `tgsweep` command line: one entry point, a sub-command per job."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console

from tgsweep.config import Config, ConfigError, config_path, load_config, starter_config
from tgsweep.logs import setup_logging

err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
out = Console(highlight=False, markup=False, soft_wrap=True)


def _store(config: Config):
    from crawler.store import Store

    return Store.open(config.storage.database)


@contextmanager
def _output(path: str | None) -> Iterator[Any]:
    if path in (None, "-"):
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as handle:
            yield handle


# -- commands ------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    if path.exists() and not args.force:
        err.print(f"{path} exists; not overwritten (use --force)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config(), encoding="utf-8")
        out.print(f"wrote {path}")
    config = load_config(path)

    async def create() -> int:
        store = await _store(config)
        version = (await store.fetchone("PRAGMA user_version"))[0]
        await store.close()
        return version

    version = asyncio.run(create())
    config.storage.media_dir.mkdir(parents=True, exist_ok=True)
    out.print(f"database {config.storage.database} ready (schema version {version})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.sweep import print_summary, run_sweep

    if args.source in ("telethon", "all"):
        err.print("the Telethon collector is not available yet; sweeping the web previews only"
                  if args.source == "all" else "the Telethon collector is not available yet (use --source web)")
        if args.source == "telethon":
            return 2
    channels = [c.lstrip("@").lower() for c in args.channel] if args.channel else None
    if not channels and not config.watch.channels:
        err.print(f"nothing to sweep: add channels to [watch] channels in {config.source} or pass --channel NAME")
        return 2
    result = run_sweep(config, channels, progress=not args.no_progress)
    print_summary(result, out)
    return 0 if result.status == "ok" and not result.stats.errors else 1


def cmd_export_messages(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from graph.exports import export_messages

    async def export() -> int:
        count = 0
        store = await _store(config)
        try:
            with _output(args.output) as handle:
                async for message in export_messages(store, args.channel or None):
                    handle.write(json.dumps(message, ensure_ascii=False) + "\n")
                    count += 1
        finally:
            await store.close()
        return count

    count = asyncio.run(export())
    if args.output not in (None, "-"):
        err.print(f"exported {count} messages to {args.output}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def verify():
        store = await _store(config)
        try:
            integrity = (await store.fetchone("PRAGMA integrity_check"))[0]
            report = await store.verify(config.storage.media_dir)
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
    out.print("verified: the chain is intact and every capture matches its hash" if ok else
              f"NOT verified: {len(report.problems)} problem(s)")
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from tgsweep.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, out)


# -- parser ----------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tgsweep", description=__doc__)
    parser.add_argument("--config", help="config file (default ./config.toml or $TGSWEEP_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the whole pipeline, offline, on a bundled synthetic corpus")
    p.add_argument("--dir", help="where to put the demo's database and outputs (default: a new temp folder)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("init", help="write a starter config.toml and create the database")
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("sweep", help="one sweep now: collect, then every later stage")
    p.add_argument("--source", choices=["web", "telethon", "all"], default="web")
    p.add_argument("--channel", action="append", metavar="NAME", help="sweep only this channel (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("export", help="export collected data")
    export = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = export.add_parser("messages", help="JSON Lines, one object per collected post")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    q.set_defaults(func=cmd_export_messages)

    p = sub.add_parser("verify", help="check the custody chain and every stored capture's hash")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
