"""Shared helpers for tests that run real sweeps.

Twisted's reactor runs once per process, so every real crawl runs the `tgsweep` CLI in a
subprocess, against a loopback t.me server (tgsweep.demo.tme_server) served from a thread of the
test process. The `sweeps` fixture hands out the helpers: a config writer, the CLI, database
reads, the admin API, and a server whose request log carries timestamps.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tgsweep.demo.tme_server import TmeServer

ROOT = Path(__file__).resolve().parents[1]


class StampedTmeServer(TmeServer):
    """TmeServer whose request log also keeps when each answer was about to be sent (monotonic)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamps: list[dict[str, Any]] = []

    def _record(self, method: str, path: str, query: str, status: int, generation: int) -> None:
        super()._record(method, path, query, status, generation)
        with self._lock:
            if generation == self._log_generation:
                self.stamps.append({"at": time.monotonic(), "method": method, "path": path, "query": query,
                                    "status": status})

    def _forget_log(self) -> None:
        super()._forget_log()
        self.stamps.clear()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


class Sweeps:
    """Helpers for running the CLI in subprocesses and reading what it stored."""

    root = ROOT
    Server = StampedTmeServer

    # -- config and CLI -------------------------------------------------------------------------

    @staticmethod
    def write_config(folder: Path, base_url: str, channels: list[str], **sections: dict[str, Any]) -> Path:
        """config.toml in `folder`: database db.sqlite and media/ there, fast web settings.

        Keyword arguments are sections whose keys override or add to the defaults,
        e.g. ``web={"max_retries": 2}, discovery={"enabled": True}``.
        """
        folder.mkdir(parents=True, exist_ok=True)
        config: dict[str, dict[str, Any]] = {
            "storage": {"database": "db.sqlite", "media_dir": "media"},
            "web": {"base_url": base_url, "request_delay": 0, "backoff": 0.05, "timeout": 10},
            "watch": {"channels": channels},
        }
        for name, values in sections.items():
            config.setdefault(name, {}).update(values)
        text = "".join(f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items()) + "\n"
                       for name, values in config.items())
        path = folder / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    @staticmethod
    def env() -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["COLUMNS"] = "250"  # rich wraps at the terminal width otherwise
        env.pop("TGSWEEP_CONFIG", None)
        return env

    def command(self, config: Path, *args: str) -> list[str]:
        return [sys.executable, "-m", "tgsweep.cli", "--config", str(config), *args]

    def cli(self, config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(config, *args), capture_output=True, text=True, timeout=timeout,
                              cwd=config.parent, env=self.env())

    def sweep(self, config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.cli(config, "sweep", "--no-progress", *args, timeout=timeout)

    def spawn_sweep(self, config: Path, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(config, "sweep", "--no-progress", *args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=config.parent, env=self.env())

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        """Make sure a spawned sweep is gone (test clean-up)."""
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)

    def export(self, config: Path) -> list[dict[str, Any]]:
        done = self.cli(config, "export", "messages")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    # -- database -----------------------------------------------------------------------------------

    @staticmethod
    def db_path(config: Path) -> Path:
        return config.parent / "db.sqlite"

    @staticmethod
    def media_dir(config: Path) -> Path:
        return config.parent / "media"

    def rows(self, config: Path, sql: str, params: tuple | list = ()) -> list[tuple]:
        db = sqlite3.connect(self.db_path(config), timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def value(self, config: Path, sql: str, params: tuple | list = ()) -> Any:
        rows = self.rows(config, sql, params)
        return rows[0][0] if rows else None

    def post_count(self, config: Path) -> int:
        """Posts stored so far (0 while the database or its tables do not exist yet)."""
        if not self.db_path(config).exists():
            return 0
        try:
            return self.value(config, "SELECT count(*) FROM posts")
        except sqlite3.OperationalError:
            return 0

    # -- the loopback server's admin API -------------------------------------------------------------

    @staticmethod
    def admin(base_url: str, path: str, data: Any = None, method: str = "POST") -> Any:
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(f"{base_url}/__admin/{path}", data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture(scope="session")
def sweeps() -> Sweeps:
    return Sweeps()


# -- a real PostgreSQL (tests/pg_server.py) ------------------------------------------------------

@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL cluster for the session, on loopback; the tests that need it skip without it."""
    from tests.pg_server import PostgresServer, binaries

    if binaries() is None:
        pytest.skip("no PostgreSQL server here (Debian package postgresql; .ci/run installs it)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return postgres.new_database()
