"""`tgsweep db copy`: an existing SQLite store moved into PostgreSQL, table by table, checked on both sides.

Rows go over in their SQLite insertion order (rowid), so the append-only tables' PostgreSQL `rowid`
keeps the same order and an incremental graph build reads them as before. The custody chain is
copied entry for entry (its hashes cover the entries' contents, not the engine) and verified before
and after; identity counters continue after the highest copied id.
"""
from __future__ import annotations

from typing import Any, Callable

BATCH = 2_000
IDENTITY_COLUMNS = {"sweeps": "id", "sweep_errors": "id", "bot_overrides": "id", "audit_log": "id",
                    "posts": "rowid", "bot_refs": "rowid", "channel_refs": "rowid"}
SKIP = {"store_generation"}  # the target's own: its count of committed writes


async def sqlite_tables(source: Any) -> dict[str, list[str]]:
    """Each table of the SQLite store with its columns, in the schema's order."""
    names = [r[0] for r in await source.fetchall(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    return {name: [r[1] for r in await source.fetchall(f"PRAGMA table_info({name})")] for name in names}


async def target_is_empty(target: Any, tables: list[str]) -> list[str]:
    """The tables of the target that already hold rows (a copy goes into an empty store only)."""
    return [t for t in tables if t not in SKIP and await target.fetchone(f"SELECT 1 FROM {t} LIMIT 1")]


async def copy_tables(source: Any, target: Any, tables: dict[str, list[str]],
                      progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Every row of every table, in one PostgreSQL transaction (a failed copy leaves the target empty)."""
    counts: dict[str, int] = {}
    async with target.transaction() as tx:
        for table, columns in tables.items():
            if table in SKIP:
                continue
            listed = ", ".join(columns)
            insert = f"INSERT INTO {table}({listed}) VALUES ({', '.join('?' * len(columns))})"
            batch: list[tuple] = []
            counts[table] = 0
            async for row in source.iterate(f"SELECT {listed} FROM {table} ORDER BY rowid", (), BATCH):
                batch.append(tuple(row))
                if len(batch) >= BATCH:
                    await tx.executemany(insert, batch)
                    counts[table] += len(batch)
                    batch = []
            if batch:
                await tx.executemany(insert, batch)
                counts[table] += len(batch)
            if progress is not None:
                progress(table, counts[table])
        for table, column in IDENTITY_COLUMNS.items():  # new rows are numbered after the copied ones
            await tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                             f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")
    return counts


async def row_counts(store: Any, tables: list[str]) -> dict[str, int]:
    return {t: int(await store.scalar(f"SELECT count(*) FROM {t}")) for t in tables if t not in SKIP}


class CopyRefused(Exception):
    """The copy was not made: the source's chain does not verify, or the target already holds a store."""


async def copy_store(source: Any, target: Any, progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """The SQLite store `source` into the empty PostgreSQL store `target`, custody verified on both sides."""
    before = await source.verify()
    if not before.ok:
        raise CopyRefused("the SQLite store does not verify: " + "; ".join(before.problems[:3]))
    tables = await sqlite_tables(source)
    if full := await target_is_empty(target, list(tables)):
        raise CopyRefused(f"the PostgreSQL database already holds a store (rows in {', '.join(full[:5])})")
    counts = await copy_tables(source, target, tables, progress)
    after = await target.verify()
    theirs = await row_counts(target, list(tables))
    if not after.ok or theirs != counts or (after.entries, after.captures) != (before.entries, before.captures):
        raise CopyRefused("the copy does not verify: " + "; ".join(after.problems[:3] or
                                                                   [f"rows {theirs} against {counts}"]))
    return {"tables": counts, "custody_entries": after.entries, "captures": after.captures}
