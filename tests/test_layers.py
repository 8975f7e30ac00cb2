"""Imports point down the data flow: shell (tgsweep, scheduler) -> graph -> detectors -> crawler -> store,
with the shell's leaf modules (config, logs, redact) usable from every layer. Imports inside
functions count too. No module outside store/ holds SQL or touches a database connection.

The pure cores named below import no I/O library: they work on records and bytes only.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"store": 0, "crawler": 1, "detectors": 2, "graph": 3, "tgsweep": 4, "scheduler": 4}
LEAVES = {"tgsweep.config", "tgsweep.logs", "tgsweep.redact"}  # the shell's leaf modules


PURE = ["crawler/web/tme_parse.py", "store/tme_links.py", "store/refs.py", "detectors/normalize.py",
        "detectors/bots/classifier.py", "detectors/bots/mirrors.py", "detectors/automation/scores.py", "detectors/bots/lineage.py",
        "graph/analysis.py", "store/records.py", "store/custody.py"]
IO_LIBRARIES = {"sqlite3", "aiosqlite", "scrapy", "telethon", "httpx", "requests", "store.sqlite"}


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _layer(module: str) -> int | None:
    return LAYER.get(module.split(".")[0])


def test_imports_point_down_the_data_flow():
    found = set()
    for package in ("store", "crawler", "detectors", "graph"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = _module(path)
            for target in _imports(path):
                if target in LEAVES or _layer(target) is None:
                    continue
                if _layer(target) > _layer(source):
                    found.add((source, target))
    assert not found, f"imports against the data flow: {sorted(found)}"


def test_the_pure_cores_import_no_io_library():
    for name in PURE:
        path = ROOT / name
        bad = [m for m in _imports(path) if m in IO_LIBRARIES or m.split(".")[0] in IO_LIBRARIES]
        assert not bad, f"{name} imports {bad}"


SQL_TEXT = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                      r"CREATE\s+(TABLE|INDEX|VIEW)|PRAGMA\s|ALTER\s+TABLE|BEGIN\s+IMMEDIATE)", re.S | re.I)
DATABASE_CALLS = {"execute", "executemany", "execute_fetchall", "executescript", "fetchall", "fetchone", "transaction"}
DATABASE_LIBRARIES = {"sqlite3", "aiosqlite", "sqlalchemy", "psycopg", "psycopg_pool"}


def _database_traces(path: Path) -> list[str]:
    """SQL text, calls of a database connection's methods, imports of a database library."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
            found.append(f"{node.lineno}: SQL {node.value.strip()[:50]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS:
            found.append(f"{node.lineno}: .{node.func.attr}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{node.lineno}: imports {n}" for n in names if n.split(".")[0] in DATABASE_LIBRARIES]
    return found


def test_sql_lives_in_the_store_only():
    paths = [p for package in ("crawler", "detectors", "graph", "tgsweep") for p in sorted((ROOT / package).rglob("*.py"))]
    traces = {}
    for path in paths + [ROOT / "scheduler.py"]:
        name = path.relative_to(ROOT).as_posix()
        if found := _database_traces(path):
            traces[name] = found
    assert not traces, f"SQL outside store/: { {k: v[:3] for k, v in traces.items()} }"
