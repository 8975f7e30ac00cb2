"""`tgsweep db upgrade|copy`: the store's schema, and a SQLite store moved into PostgreSQL."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from tgsweep.cli.common import err, open_store, out
from tgsweep.config import load_config


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def upgrade() -> int:
        store = await open_store(config)  # opening applies what the database has not seen, one process at a time
        try:
            return await store.schema_version()
        finally:
            await store.close()

    version = asyncio.run(upgrade())
    where = "PostgreSQL ([storage] url)" if config.storage.url else str(config.storage.database)
    out.print(f"{where}: schema version {version}, up to date")
    return 0


def _password_in(url: str) -> bool:
    credentials = url.split("//", 1)[-1].split("@", 1)
    return len(credentials) == 2 and ":" in credentials[0]


def cmd_db_copy(args: argparse.Namespace) -> int:
    from store.postgres import PostgresStore
    from store.postgres.copy import CopyRefused, copy_store
    from store.sqlite import Store

    config = load_config(args.config)
    source = Path(args.source) if args.source else config.storage.database
    url = args.to or config.storage.url_value
    if not url or not url.startswith("postgresql+psycopg://"):
        err.print("tgsweep db copy: no target: give --to postgresql+psycopg://user@host:port/db or set [storage] url")
        return 2
    if args.to and _password_in(args.to):
        err.print("tgsweep db copy: no password on the command line (others can read it); PostgreSQL reads it "
                  "from PGPASSWORD or ~/.pgpass, or write [storage] url with \"${ENV_VAR}\"")
        return 2
    if not source.exists():
        err.print(f"tgsweep db copy: no SQLite store at {source}")
        return 2

    async def copy() -> dict[str, Any]:
        lite, pg = await Store.open(source), await PostgresStore.open(url)
        try:
            return await copy_store(lite, pg, lambda table, n: out.print(f"  {table}: {n} rows"))
        finally:
            await lite.close()
            await pg.close()

    out.print(f"copying {source} into PostgreSQL")
    try:
        report = asyncio.run(copy())
    except CopyRefused as exc:
        err.print(f"tgsweep db copy: {exc}")
        return 1
    out.print(f"copied {sum(report['tables'].values())} rows in {len(report['tables'])} tables; custody chain "
              f"verified on both sides ({report['custody_entries']} entries, {report['captures']} captures). "
              "Set [storage] url to use it; media files and WARCs stay where [storage] media_dir and warc_dir say.")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("db", help="the store's schema; a SQLite store moved into PostgreSQL")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    q = db.add_parser("upgrade", help="apply the schema migrations the store has not seen (SQLite or PostgreSQL)")
    q.set_defaults(func=cmd_db_upgrade)
    q = db.add_parser("copy", help="copy the SQLite store into an empty PostgreSQL database, custody verified "
                                   "on both sides")
    q.add_argument("--to", metavar="URL", help="the PostgreSQL database (default: [storage] url); no password here")
    q.add_argument("--from", dest="source", metavar="PATH", help="the SQLite file (default: [storage] database)")
    q.set_defaults(func=cmd_db_copy)
