"""A store filled by the demo corpus, made once per test session and copied for each test that writes."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def graph_demo_dir(tmp_path_factory) -> Path:
    """`tgsweep demo` run once: two real sweeps of the synthetic corpus on loopback (graph stage included)."""
    folder = tmp_path_factory.mktemp("graph_demo")
    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(folder)], capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (folder / "demo_output.txt").write_text(run.stdout, encoding="utf-8")
    return folder


@pytest.fixture
def graph_demo_copy(graph_demo_dir, tmp_path) -> Path:
    """A private copy of the demo's config and database (tests may write to it); returns the config path."""
    for name in ("config.toml", "tgsweep.db", "tgsweep.db-wal", "known_content.csv"):
        if (graph_demo_dir / name).exists():
            shutil.copy2(graph_demo_dir / name, tmp_path / name)
    return tmp_path / "config.toml"
