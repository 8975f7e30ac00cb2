"""The Telethon client at the I/O edge: building it from the config, the session, `tgsweep login`.

The session is the unit's logged-in account, as powerful as its password: the file is created
0600 (and put back to 0600 if found wider), a StringSession can come from the environment
instead, and neither it nor the api_hash ever reaches a log line or an error message.
"""
from __future__ import annotations

import getpass
import logging
import os
import stat
from pathlib import Path
from typing import Any, Callable

from tgsweep.config import Config

log = logging.getLogger(__name__)


class TelethonNotConfigured(Exception):
    """[telethon] api_id / api_hash are missing."""


class NotLoggedIn(Exception):
    """The session holds no authorised account: `tgsweep login` first."""


def session_file(config: Config) -> Path:
    """The session file, relative to the config file; Telethon adds `.session` when it is missing."""
    path = Path(config.telethon.session).expanduser()
    if not path.is_absolute() and config.source is not None:
        path = Path(config.source).resolve().parent / path
    return path if path.suffix == ".session" else path.with_name(path.name + ".session")


def _private(path: Path) -> None:
    """Create the file 0600 if new, and make an existing one 0600 (it holds the account's key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        if mode & 0o077:
            log.warning("session file %s was readable by others (mode %o); set to 0600", path, mode)
        os.chmod(path, 0o600)


def check_configured(config: Config) -> None:
    tg = config.telethon
    if not tg.configured:
        where = config.source or "config.toml"
        raise TelethonNotConfigured(
            f"{where}: [telethon] api_id and api_hash are needed for the Telethon collector "
            "(from https://my.telegram.org; write api_hash = \"${TG_API_HASH}\")")


def build_client(config: Config) -> Any:
    """A TelegramClient (not connected) for the configured account; the session file is 0600."""
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    check_configured(config)
    tg = config.telethon
    if tg.string_session is not None:
        session: Any = StringSession(tg.string_session.get_secret_value())
    else:
        path = session_file(config)
        _private(path)
        session = str(path)
    client = TelegramClient(session, tg.api_id, tg.api_hash.get_secret_value(),
                            flood_sleep_threshold=tg.flood_sleep_threshold, receive_updates=False)
    if tg.string_session is None:
        _private(session_file(config))  # SQLite may have recreated it
    return client


async def ensure_authorised(client: Any, config: Config) -> None:
    """Connect and check there is a logged-in account; otherwise say exactly what to do.

    A session that never logged in has no auth key: that is told without touching the network.
    """
    where = ("the StringSession in [telethon] string_session" if config.telethon.string_session is not None
             else f"session file {session_file(config)}")
    message = f"no logged-in Telegram account in {where}: run `tgsweep login` first"
    session = getattr(client, "session", None)
    key = getattr(session, "auth_key", None)
    if session is not None and (key is None or getattr(key, "key", b"") is None):  # no key, or AuthKey(None)
        raise NotLoggedIn(message)
    await client.connect()
    if not await client.is_user_authorized():
        await client.disconnect()
        raise NotLoggedIn(message)


async def login(config: Config, client: Any | None = None, phone: Callable[[], str] | None = None,
                code: Callable[[], str] | None = None, password: Callable[[], str] | None = None,
                export_string: Path | None = None) -> str:
    """Interactive first login (phone, code, 2FA password); returns who is logged in, by name and id.

    The session is kept in the 0600 session file (or the StringSession is checked). With
    `export_string`, the session is also written there as a StringSession, in a 0600 file, for
    `string_session = "${TG_SESSION}"` deployments.
    """
    client = client or build_client(config)
    await client.connect()
    try:
        if not await client.is_user_authorized():
            await client.start(phone=phone or (lambda: input("phone number (international format): ")),
                               code_callback=code or (lambda: input("login code Telegram sent you: ")),
                               password=password or (lambda: getpass.getpass("two-step verification password: ")))
        me = await client.get_me()
        if export_string is not None:
            from telethon.sessions import StringSession

            _private(export_string)
            export_string.write_text(StringSession.save(client.session) + "\n", encoding="ascii")
    finally:
        await client.disconnect()
    if config.telethon.string_session is None and client.session is not None and hasattr(client.session, "filename"):
        _private(Path(client.session.filename))
    name = " ".join(p for p in (getattr(me, "first_name", None), getattr(me, "last_name", None)) if p)
    return f"{name or 'account'} (id {me.id})"
