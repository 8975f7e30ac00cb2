"""Files and folders the CLI creates are private (umask 077): the database, exports, the config it writes."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_everything_the_cli_creates_is_private(tmp_path):
    config = tmp_path / "deploy" / "config.toml"

    def cli(*argv: str) -> None:
        run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), *argv],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert run.returncode == 0, run.stderr

    old = os.umask(0o022)  # a usual login umask: without tgsweep's own, files would be 0644
    try:
        cli("init")
        cli("export", "messages", "-o", str(tmp_path / "deploy" / "messages.jsonl"))
        cli("graph", "export", "--format", "gexf", "-o", str(tmp_path / "deploy" / "graph.gexf"))
    finally:
        os.umask(old)
    made = [config.parent, *config.parent.rglob("*")]
    assert {p.name for p in made} >= {"deploy", "config.toml", "tgsweep.db", "media", "messages.jsonl", "graph.gexf"}
    for path in made:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path.name}: {oct(mode)}"
