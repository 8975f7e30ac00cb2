"""What every command shares: the consoles, the store as each command's I/O edge, JSON Lines output, channel names."""
from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import sys
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator, TypeVar

from rich.console import Console

from tgsweep.config import Config

T = TypeVar("T")


err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


out = Console(highlight=False, markup=False, soft_wrap=True)


def open_store(config: Config):
    from store import open_store as open_any

    return open_any(config.storage.database, config.storage.url_value)


def with_store(config: Config, work: Callable[[Any], Awaitable[T]],
               runner: Callable[[Callable[[], Awaitable[T]]], T] | None = None) -> T:
    """Open the store, do one piece of work on it, close it: each command's I/O edge.

    `runner`: how to run it (crawler.web.stage.run_async for work that fetches); asyncio.run by default.
    """
    async def run() -> T:
        store = await open_store(config)
        try:
            return await work(store)
        finally:
            await store.close()

    return runner(run) if runner is not None else asyncio.run(run())


def jsonl(row: Any, handle: Any = None) -> None:
    """One JSON Lines record: the form every machine-readable output of the CLI takes."""
    (handle or sys.stdout).write(json.dumps(row, ensure_ascii=False) + "\n")


def json_lines(args: argparse.Namespace, rows: list[Any]) -> bool:
    """`--json` on a list command: every row as JSON Lines; False when the caller prints text instead."""
    if args.json:
        for row in rows:
            jsonl(row)
    return bool(args.json)


@contextmanager
def output(path: str | None) -> Iterator[Any]:
    if path in (None, "-"):
        yield sys.stdout
    else:  # created private: exports name channels, bots and hashes of abuse material
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            yield handle


def did_you_mean(name: str, known: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
    return f"; did you mean {', '.join(close)}?" if close else ""


def channel_names(config: Config, given: list[str], new_ok: bool = True) -> list[str]:
    """Names as the user wrote them (`name`, `@name`, t.me links) -> usernames; ValueError with a
    "did you mean" for a name the store and the config do not know when a known one is close
    (a typo), or, with `new_ok=False`, for any unknown name."""
    from tgsweep.config import channel_name

    names = [channel_name(g) for g in given]
    known = set(config.watch.configured)
    if config.storage.database.exists() or config.storage.url:
        known |= with_store(config, lambda store: store.channel_names())
    for name in names:
        hint = did_you_mean(name, known - {name})
        if name not in known and (hint or not new_ok):
            raise ValueError(f"{name}: not a channel this store or the config has seen{hint}")
    return list(dict.fromkeys(names))


def database_watchlist(config: Config) -> bool:
    """Whether the database has channels on the watchlist (`tgsweep watch add`); read without migrating."""
    from store.sqlite.database import has_watched_channels

    if config.storage.url:  # PostgreSQL: opening it migrates nothing a worker did not
        return bool(with_store(config, lambda store: store.watched_channels()))
    return has_watched_channels(config.storage.database)


def count_by(values) -> dict[str, int]:
    from collections import Counter

    return dict(Counter(values))
