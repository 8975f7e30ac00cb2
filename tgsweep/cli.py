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


def _bot_settings(args: argparse.Namespace):
    """Thresholds from the config when there is one; `bots score` works without a config file."""
    from detectors.bot_classifier import Thresholds

    path = config_path(args.config)
    if args.config or path.exists():
        bots = load_config(path).bots
        return Thresholds(bots.generator_threshold, bots.benign_threshold)
    return Thresholds()


def cmd_bots_score(args: argparse.Namespace) -> int:
    from detectors.bot_classifier import score_bot

    thresholds = _bot_settings(args)
    problems = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            profile = json.loads(line)
            if not isinstance(profile, dict) or not profile.get("username"):
                raise ValueError("expected a JSON object with at least username")
        except ValueError as exc:
            err.print(f"line {number}: {exc}")
            problems += 1
            continue
        verdict = score_bot(profile, thresholds=thresholds)
        sys.stdout.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    return 1 if problems else 0


def cmd_bots_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from detectors.stage import list_bots

    async def read() -> list[dict]:
        store = await _store(config)
        try:
            return await list_bots(store)
        finally:
            await store.close()

    bots = asyncio.run(read())
    if args.json:
        for bot in bots:
            sys.stdout.write(json.dumps(bot, ensure_ascii=False) + "\n")
        return 0
    for b in bots:
        score = "-" if b["score"] is None else f"{b['score']:.2f}"
        confirmed = {True: "bot", False: "not a bot", None: "unconfirmed"}[b["confirmed"]]
        auto = b["auto_label"] or "not scored"
        label = (f"{b['label']} (analyst {b['override']['by']}: {b['override']['note'] or 'no note'}; "
                 f"automatic {auto} {score})") if b["override"] else f"{b['label']} {score}"
        out.print(f"@{b['username']}  {label}  [{confirmed}; {b['channels']} channels, {b['posts']} posts"
                  + (f"; codes {', '.join(b['referral_codes'][:5])}" if b["referral_codes"] else "") + "]")
        for m in b["mirror_of"]:
            out.print(f"    mirror of @{m['bot']}: {m['evidence']}")
        for reason in b["reasons"][:6]:
            out.print(f"    - {reason}")
    if not bots:
        out.print("no bots in the store yet (run a sweep)")
    return 0


def cmd_bots_label(args: argparse.Namespace) -> int:
    import getpass

    config = load_config(args.config)
    from detectors.stage import set_override

    async def label() -> dict:
        store = await _store(config)
        try:
            return await set_override(store, args.username, args.label, args.note, args.by or getpass.getuser())
        finally:
            await store.close()

    done = asyncio.run(label())
    out.print(f"@{done['username']} labelled {done['label']} by {done['by']} at {done['at']}; "
              "later automatic scores keep this label")
    return 0


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

    p = sub.add_parser("bots", help="deepfake-bot verdicts: score profiles, list bots, label a bot")
    bots = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = bots.add_parser("score", help="bot profiles as JSON Lines on stdin -> verdicts as JSON Lines on stdout")
    q.set_defaults(func=cmd_bots_score)
    q = bots.add_parser("list", help="bots in the store with their verdicts, references and mirrors")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_bots_list)
    q = bots.add_parser("label", help="an analyst's decision on a bot; never overwritten by automatic scores")
    q.add_argument("username")
    q.add_argument("label", choices=["deepfake_generator", "benign"])
    q.add_argument("--note", required=True, help="why (kept with the decision)")
    q.add_argument("--by", help="who decides (default: the login name)")
    q.set_defaults(func=cmd_bots_label)
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
