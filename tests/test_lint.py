"""The linter and the type checker run with the tests ([tool.ruff] in pyproject.toml: pyflakes,
pycodestyle, bugbear; [tool.mypy]: the store's records, interfaces and SQLite implementation, where
mypy also proves the Store implements every Protocol), so a `noqa` serves a linter that runs, and an
unused import, a loop variable bug or a Protocol the Store no longer meets fails the build."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    done = subprocess.run([ruff, "check", "--output-format", "concise", "store", "crawler", "detectors", "graph", "tgsweep",
                           "scheduler.py", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing_in_the_store():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]' installs it)")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
