"""`tgsweep serve` as a real process (uvicorn): where the token comes from, what the access log shows,
and which paths are public when a token is set."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "expl0rer-T0ken-from-env"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A `tgsweep serve` child process; `stop()` returns everything it wrote."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tgsweep.cli", "--config", str(config), "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "TGSWEEP_TOKEN"} | (env or {}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.stop()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not start: {self.stop()}")

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        """GET with the path sent exactly as given (no client-side normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def argv(self) -> str:
        return Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().decode().replace("\0", " ")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=30)
        return out + err


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndatabase = "t.db"\nmedia_dir = "media"\n')
    return path


def test_the_token_comes_from_the_environment_and_never_reaches_argv_or_the_access_log(config):
    served = Served(config, env={"TGSWEEP_TOKEN": TOKEN})
    try:
        assert TOKEN not in served.argv()
        assert served.get("/api/info")[0] == 401
        assert served.get("/api/info", token=TOKEN)[0] == 200
        assert served.get(f"/api/info?token={TOKEN}")[0] == 401  # a token in a URL is not accepted, nor logged
        assert served.get(f"/api/graph?min_escalation=0&token={TOKEN}", token=TOKEN)[0] == 200
    finally:
        logged = served.stop()
    assert "GET /api/info" in logged and "GET /api/graph" in logged  # the access log is on
    assert TOKEN not in logged and "token=" not in logged


def test_the_token_comes_from_a_file(config, tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "token").chmod(0o600)
    served = Served(config, "--token-file", str(tmp_path / "token"))
    try:
        assert served.get("/api/info")[0] == 401 and served.get("/api/info", token=TOKEN)[0] == 200
    finally:
        served.stop()
    config.write_text(config.read_text() + '\n[serve]\ntoken_file = "token"\n')  # relative to the config file
    served = Served(config)
    try:
        assert served.get("/api/info")[0] == 401 and served.get("/api/info", token=TOKEN)[0] == 200
    finally:
        assert TOKEN not in served.stop()


def test_a_token_on_the_command_line_is_refused(config, tmp_path):
    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "serve", "--token", TOKEN],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 2
    assert "TGSWEEP_TOKEN" in run.stderr and "--token-file" in run.stderr and TOKEN not in run.stderr + run.stdout
    missing = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "serve", "--token-file",
                              str(tmp_path / "nope")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert missing.returncode == 2 and "token file" in missing.stderr


TRICKS = ["/static/login/../app.js", "/static/login/%2e%2e/app.js", "/static/login/%2E%2E/app.js",
          "/static/login%2f..%2fapp.js", "/static/login.css/../app.js", "/static/login/..%2fapp.js",
          "/static/login/../login/../app.js", "/static/login%2F..%2Findex.html", "/static/./app.js",
          "/static/login/%252e%252e/app.js", "/login/../static/app.js"]


def test_only_the_real_login_assets_are_public(config):
    config.write_text(config.read_text() + '\n[serve]\ntoken = "${SERVE_TOKEN}"\n')
    served = Served(config, env={"SERVE_TOKEN": TOKEN})
    app_js = (ROOT / "tgsweep" / "explorer" / "static" / "app.js").read_bytes()
    try:
        assert served.get("/static/login.css")[0] == 200 and served.get("/login")[0] == 200
        assert served.get("/static/app.js")[0] == 303 and served.get("/static/app.js", token=TOKEN)[1] == app_js
        for path in TRICKS:
            status, body = served.get(path)
            assert status in (303, 401, 404) and body != app_js, (path, status)
            assert served.get(path, token=TOKEN)[0] in (200, 404), path  # with the token: whatever it names
    finally:
        served.stop()
