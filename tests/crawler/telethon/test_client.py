"""The Telethon client edge: session files 0600, StringSession from the environment, login, no-login errors."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from crawler.telethon.client import NotLoggedIn, TelethonNotConfigured, build_client, ensure_authorised, login
from tgsweep.config import parse_config

ROOT = Path(__file__).resolve().parents[3]
HASH = "feedfacefeedfacefeedfacefeedface"


def config_for(folder: Path, extra: str = "", env: dict | None = None):
    text = f'[telethon]\napi_id = "${{TG_API_ID}}"\napi_hash = "${{TG_API_HASH}}"\nsession = "acct"\n{extra}'
    path = folder / "config.toml"
    path.write_text(text)
    return parse_config(text, path, env={"TG_API_ID": "4242", "TG_API_HASH": HASH} | (env or {}))


def test_session_file_is_created_0600_beside_the_config(tmp_path):
    config = config_for(tmp_path)
    client = build_client(config)
    session = tmp_path / "acct.session"
    assert session.exists() and stat.S_IMODE(session.stat().st_mode) == 0o600
    assert client.flood_sleep_threshold == 60
    client.session.close()
    os.chmod(session, 0o644)  # someone widened it: put back to 0600 at the next start
    build_client(config).session.close()
    assert stat.S_IMODE(session.stat().st_mode) == 0o600


async def test_fresh_session_is_not_logged_in_without_touching_the_network(tmp_path):
    config = config_for(tmp_path)
    client = build_client(config)
    with pytest.raises(NotLoggedIn, match=r"acct\.session: run `tgsweep login` first"):
        await ensure_authorised(client, config)
    client.session.close()


def test_string_session_from_the_environment_needs_no_file(tmp_path):
    saved = StringSession()
    saved.set_dc(2, "149.154.167.51", 443)
    saved.auth_key = AuthKey(bytes(range(256)))
    text = StringSession.save(saved)
    config = config_for(tmp_path, 'string_session = "${TG_SESSION}"\n', env={"TG_SESSION": text})
    assert text not in repr(config) and HASH not in repr(config)  # secrets never print
    client = build_client(config)
    assert isinstance(client.session, StringSession) and client.session.auth_key.key == bytes(range(256))
    assert not (tmp_path / "acct.session").exists()


def test_missing_api_id_is_a_clear_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[telethon]\n")
    with pytest.raises(TelethonNotConfigured, match=r"\[telethon\] api_id and api_hash"):
        build_client(parse_config("[telethon]\n", path, env={}))


class LoginClient:
    """What `login` calls on a TelegramClient: connect, is_user_authorized, start (callbacks), get_me."""

    def __init__(self, session: StringSession):
        self.session = session
        self.asked: list[str] = []

    async def connect(self):
        pass

    async def disconnect(self):
        pass

    async def is_user_authorized(self):
        return self.session.auth_key is not None

    async def start(self, phone, code_callback, password):
        self.asked += [phone(), code_callback(), password()]
        self.session.set_dc(2, "149.154.167.51", 443)
        self.session.auth_key = AuthKey(bytes(i % 251 + 1 for i in range(256)))

    async def get_me(self):
        from telethon.tl.types import User

        return User(id=99, first_name="Unit", last_name="Account")


async def test_login_asks_phone_code_and_password_then_exports_a_0600_string_session(tmp_path):
    config = config_for(tmp_path)
    client = LoginClient(StringSession())
    exported = tmp_path / "session.txt"
    who = await login(config, client, phone=lambda: "+10000000000", code=lambda: "12345",
                      password=lambda: "two-step", export_string=exported)
    assert who == "Unit Account (id 99)"
    assert client.asked == ["+10000000000", "12345", "two-step"]
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert StringSession(exported.read_text().strip()).auth_key.key == bytes(i % 251 + 1 for i in range(256))
    client.asked.clear()
    await login(config, client)  # already logged in: nothing asked
    assert client.asked == []


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TG_API_ID="4242", TG_API_HASH=HASH)
    env.pop("TGSWEEP_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60, cwd=config.parent, env=env)


def test_cli_sweep_without_login_exits_2_telling_to_run_login(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndatabase = "db.sqlite"\n[watch]\nchannels = ["sample_news"]\n'
                    '[telethon]\napi_id = "${TG_API_ID}"\napi_hash = "${TG_API_HASH}"\n')
    done = _cli(path, "sweep", "--no-progress", "--source", "all")  # checked before the web part starts
    assert done.returncode == 2, done.stderr
    assert "run `tgsweep login` first" in done.stderr
    assert HASH not in done.stderr + done.stdout
    assert not (tmp_path / "db.sqlite").exists() or not _sweeps(tmp_path / "db.sqlite")
    assert stat.S_IMODE((tmp_path / "tgsweep.session").stat().st_mode) == 0o600


def _sweeps(db: Path) -> list:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM sweeps").fetchall()
    finally:
        conn.close()


def test_cli_sweep_telethon_without_api_keys_exits_2(tmp_path, capsys):
    from tgsweep.cli import main

    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndatabase = "db.sqlite"\n[watch]\nchannels = ["sample_news"]\n')
    assert main(["--config", str(path), "sweep", "--no-progress", "--source", "telethon"]) == 2
    assert "[telethon] api_id and api_hash" in capsys.readouterr().err


def test_scheduler_registers_the_telethon_sweep_only_when_configured(tmp_path):
    from scheduler import job_specs

    path = tmp_path / "config.toml"
    plain = parse_config("", path, env={})
    assert "sweep_telethon" not in {s.id for s in job_specs(plain)}
    spec = {s.id: s for s in job_specs(config_for(tmp_path, "interval_minutes = 15\n"))}["sweep_telethon"]
    assert spec.every.total_seconds() == 15 * 60 and spec.kwargs["source"] == "telethon"
