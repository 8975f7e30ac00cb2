"""`tgsweep serve`: the analyst's explorer."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tgsweep.cli.common import err, out
from tgsweep.config import Config, load_config
from tgsweep.logs import setup_logging

TOKEN_ENV = "TGSWEEP_TOKEN"


def _serve_token(args: argparse.Namespace, config: Config) -> str | None:
    """The explorer's token from --token-file, $TGSWEEP_TOKEN or [serve] token_file, in that order (None:
    [serve] token, if any). Never from argv, which `ps` shows to every user of the machine."""
    path = Path(args.token_file) if args.token_file else None
    if path is None and os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    path = path or config.serve.token_file
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
        private = not path.stat().st_mode & 0o077
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise ValueError(f"the token file {path} is empty")
    if not private:
        err.print(f"warning: the token file {path} is readable by other users (chmod 600 it)")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    """`tgsweep serve`: the analyst's explorer (tgsweep/explorer) until Ctrl-C."""
    if args.token is not None:
        err.print(f"--token is refused: every user of this machine can read a process's arguments (ps). "
                  f"Put the token in ${TOKEN_ENV}, or in a file only you can read and pass --token-file PATH "
                  "(or set [serve] token_file)")
        return 2
    config = load_config(args.config)
    setup_logging(config.logging)
    from tgsweep.explorer.app import UnsafeBinding, check_binding, serve, settings_from
    from tgsweep.redact import add

    try:
        token = _serve_token(args, config)
    except ValueError as exc:
        err.print(str(exc))
        return 2
    add(token)  # never in a log line
    settings = settings_from(config, host=args.host, port=args.port, token=token, analyst=args.analyst)
    try:
        check_binding(settings)
    except UnsafeBinding as exc:
        err.print(str(exc))
        return 2
    out.print(f"explorer on http://{settings.host}:{settings.port}/ (analyst {settings.who}"
              + ("; token required" if settings.token else "") + "); Ctrl-C stops")
    serve(config, settings)
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("serve", help="the analyst's explorer: a local web page and JSON API over the store")
    p.add_argument("--host", help="address to bind (default [serve] host, 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, help="port (default [serve] port, 8765)")
    p.add_argument("--token-file", metavar="PATH",
                   help="read the token every request needs from PATH (default $TGSWEEP_TOKEN, [serve] token_file "
                        "or token)")
    p.add_argument("--token", metavar="T", help="refused (ps would show it): use $TGSWEEP_TOKEN or --token-file")
    p.add_argument("--analyst", help="who confirms or rejects bots here (default [serve] analyst or login name)")
    p.set_defaults(func=cmd_serve)
