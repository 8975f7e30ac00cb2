"""Each store (SQLite, PostgreSQL) implements every interface of store/: the seam a second database plugs into.

Each concern's Protocol (store/<concern>.py) lists what its stages may call; a method the Protocol
names but the Store lacks, or with other parameters, fails here before any stage runs.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import store
import pytest

from store.postgres import PostgresStore
from store.postgres.graph import PgAppendOnlyRead
from store.postgres.queue import ProcrastinateQueue
from store.sqlite import Store
from store.sqlite.graph import AppendOnlyRead
from store.sqlite.jobs import JobHistory

# the rest: the Store itself; the job history of `tgsweep run` stays SQLite (APScheduler's own store)
IMPLEMENTED_BY = {"sqlite": {"AppendOnlyReader": AppendOnlyRead, "JobRuns": JobHistory,
                             "WorkQueue": ProcrastinateQueue},  # the queue needs PostgreSQL whatever the store
                  "postgresql": {"AppendOnlyReader": PgAppendOnlyRead, "JobRuns": JobHistory,
                                 "WorkQueue": ProcrastinateQueue}}
STORES = {"sqlite": Store, "postgresql": PostgresStore}


def _protocols() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(store.__path__):
        if info.ispkg:
            continue
        module = importlib.import_module(f"store.{info.name}")
        found += [obj for obj in vars(module).values()
                  if inspect.isclass(obj) and getattr(obj, "_is_protocol", False) and obj.__module__ == module.__name__]
    return found


def _members(protocol: type) -> dict[str, object]:
    return {name: value for name, value in vars(protocol).items()
            if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))}


def test_there_is_one_protocol_per_concern():
    names = {p.__name__ for p in _protocols()}
    assert len(names) >= 10, names


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_each_store_implements_every_protocol(engine):
    for protocol in _protocols():
        members = _members(protocol)
        assert members, f"{protocol.__name__} names no method"
        implementation = IMPLEMENTED_BY[engine].get(protocol.__name__, STORES[engine])
        for name, declared in members.items():
            implemented = getattr(implementation, name, None)
            assert implemented is not None, f"{implementation.__name__} lacks {protocol.__name__}.{name}"
            if isinstance(declared, property):
                continue
            assert inspect.iscoroutinefunction(declared) == inspect.iscoroutinefunction(implemented) \
                or inspect.isasyncgenfunction(implemented), f"{protocol.__name__}.{name}: async in one, not the other"
            want = list(inspect.signature(declared).parameters)
            have = list(inspect.signature(implemented).parameters)
            assert want == have, f"{protocol.__name__}.{name}{want} but Store.{name}{have}"
