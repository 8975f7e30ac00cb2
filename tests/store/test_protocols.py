"""The SQLite store implements every interface of store/: the seam a second database plugs into.

Each concern's Protocol (store/<concern>.py) lists what its stages may call; a method the Protocol
names but the Store lacks, or with other parameters, fails here before any stage runs.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import store
from store.sqlite import Store
from store.sqlite.graph import AppendOnlyRead
from store.sqlite.jobs import JobHistory

IMPLEMENTED_BY = {"AppendOnlyReader": AppendOnlyRead, "JobRuns": JobHistory}  # the rest: the Store itself


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


def test_the_sqlite_store_implements_every_protocol():
    for protocol in _protocols():
        members = _members(protocol)
        assert members, f"{protocol.__name__} names no method"
        implementation = IMPLEMENTED_BY.get(protocol.__name__, Store)
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
