"""`tgsweep init`: a starter config and the database."""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tgsweep.cli.common import err, open_store, out
from tgsweep.config import config_path, load_config, starter_config


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
        store = await open_store(config)
        version = await store.schema_version()
        await store.close()
        return version

    version = asyncio.run(create())
    config.storage.media_dir.mkdir(parents=True, exist_ok=True)
    out.print(f"database {config.storage.database} ready (schema version {version})")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("init", help="write a starter config.toml and create the database")
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.set_defaults(func=cmd_init)
