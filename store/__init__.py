"""The store: records and interfaces (store/<concern>.py), one SQLite implementation and one PostgreSQL."""
from __future__ import annotations

from pathlib import Path
from typing import Any


async def open_store(database: str | Path, url: str | None = None) -> Any:
    """The SQLite store at `database`, or with `url` the PostgreSQL one (`database` then prefixes the local
    files beside it: the graph's snapshot, the explorer's saved graph, the delivery lock)."""
    if url:
        from store.postgres import PostgresStore

        store = await PostgresStore.open(url)
        store.path = Path(database)
        return store
    from store.sqlite import Store

    return await Store.open(database)
