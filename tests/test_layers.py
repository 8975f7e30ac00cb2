"""Imports point down the data flow: shell (tgsweep, scheduler) -> graph -> detectors -> crawler -> store,
with the shell's leaf modules (config, logs, redact) usable from every layer. Imports inside
functions count too. The allow-list names each import that still runs against the flow; the
redesign issue empties it, and nothing may be added to it.

The pure cores named below import no I/O library: they work on records and bytes only.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"store": 0, "crawler": 1, "detectors": 2, "graph": 3, "tgsweep": 4, "scheduler": 4}
LEAVES = {"tgsweep.config", "tgsweep.logs", "tgsweep.redact"}  # the shell's leaf modules

# (importing module, imported module): each still to be turned around
ALLOWED = {
    ("crawler.media", "detectors.media.stage"),  # hash-only mode fingerprints bytes before dropping them
}

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
    assert found <= ALLOWED, f"imports against the data flow: {sorted(found - ALLOWED)}"
    assert not ALLOWED - found, f"turned around already, take them off the allow-list: {sorted(ALLOWED - found)}"


def test_the_pure_cores_import_no_io_library():
    for name in PURE:
        path = ROOT / name
        bad = [m for m in _imports(path) if m in IO_LIBRARIES or m.split(".")[0] in IO_LIBRARIES]
        assert not bad, f"{name} imports {bad}"
