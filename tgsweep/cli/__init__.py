"""The `tgsweep` command line: one entry point, a sub-command per job; one module per command group,
each with `register(sub)` adding its commands and `cmd_*` handlers taking the parsed arguments.

Handlers import their stage when they run: `tgsweep --help` and a quick `tgsweep status` do not load
Scrapy, Telethon, NumPy and the rest.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from tgsweep.cli import (
    alerts,
    automation,
    bots,
    db,
    demo,
    evidence,
    export,
    graph,
    init,
    media,
    serve,
    service,
    sweep,
    verify,
    watch,
    work,
)
from tgsweep.cli.common import err
from tgsweep.config import ConfigError
from tgsweep.logs import redact_root_handlers
from tgsweep.redact import redact

# the order `tgsweep --help` lists them in
GROUPS = (demo, init, sweep, service, watch, export, verify, bots, automation, media, evidence, alerts, serve, graph, db, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tgsweep",
                                     description="The `tgsweep` command line: one entry point, a sub-command per job.")
    parser.add_argument("--config", help="config file (default ./config.toml or $TGSWEEP_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    _describe(parser)
    return parser



def main(argv: list[str] | None = None) -> int:
    # Everything this process and its children create (database, media, exports, bundles, the config
    # `init` writes) is private: files 0600, folders 0700. Restored on return, for callers in-process.
    umask = os.umask(0o077)
    try:
        argv = _config_first(sys.argv[1:] if argv is None else list(argv))
        parser = build_parser()
        if not argv:  # `tgsweep` alone: what it can do
            parser.print_help()
            return 2
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        redact_root_handlers()  # secrets are scrubbed from every log line (tgsweep/redact.py)
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:  # `tgsweep export messages | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0
    finally:
        os.umask(umask)


def _config_first(argv: list[str]) -> list[str]:
    """`--config PATH` is accepted anywhere on the line, before or after the command."""
    rest, config = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--config" and i + 1 < len(argv):
            config = ["--config", argv[i + 1]]
            i += 2
            continue
        if argv[i].startswith("--config="):
            config = [argv[i]]
        else:
            rest.append(argv[i])
        i += 1
    return config + rest


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's own --help starts with the one line `tgsweep --help` shows for it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                if not sub.description:
                    sub.description = choice.help
                _describe(sub)
