"""What the Telethon collector remembers between sweeps: the entity cache and flood waits.

Entities (username -> id, access hash) are resolved once and reused, so a sweep spends no
ResolveUsername request on a channel or bot it has seen; a FloodWait longer than the
threshold becomes a not-before time, on the channel's cursor (`cursors.not_before`, source
telethon) or account-wide for one kind of request (`telethon_waits`), which later sweeps honour.
Access hashes and account-wide waits are the account's own (several accounts may share a store).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from store.records import Capture

SOURCE = "telethon"
DEFAULT_ACCOUNT = "default"  # the account of `tgsweep sweep --source telethon`; `tgsweep collector --account NAME` names its own


@dataclass(slots=True)
class CachedEntity:
    username: str
    peer_id: int | None
    kind: str  # channel, group, bot, user, not_found, invalid
    access_hash: int | None
    resolved_at: str
    full_at: str | None
    profile: dict[str, Any] | None
    error: str | None


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def older_than(value: str | None, hours: float, at: datetime | None = None) -> bool:
    """True when `value` (ISO) is missing or more than `hours` before `at` (now)."""
    stamp = _utc(value)
    return stamp is None or stamp < (at or datetime.now(timezone.utc)) - timedelta(hours=hours)


def in_future(value: str | None, at: datetime | None = None) -> bool:
    stamp = _utc(value)
    return stamp is not None and stamp > (at or datetime.now(timezone.utc))


def until(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


class TelethonStateStore(Protocol):
    """The Telethon collector's memory between sweeps."""

    async def cached_entity(self, username: str, account: str = DEFAULT_ACCOUNT) -> CachedEntity | None:
        """The resolved entity of a username, if it was resolved before, with this account's access hash."""

    async def cache_entities(self, entries: list[tuple[str, int | None, str, int | None, str | None]],
                             account: str = DEFAULT_ACCOUNT) -> None:
        """(username, peer id, kind, access hash, error) rows, the hashes this account's; a known id or hash is
        kept if none is given."""

    async def forget_access_hash(self, username: str, account: str = DEFAULT_ACCOUNT) -> None:
        """An access hash Telegram refused this account: resolve the username again next time."""

    async def account_waits(self, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
        """The account's flood waits in force: request kind -> until."""

    async def all_account_waits(self) -> dict[str, dict[str, str]]:
        """Every account's flood waits in force: account -> request kind -> until (`tgsweep status`)."""

    async def record_account_wait(self, kind: str, seconds: int, request: str,
                                  account: str = DEFAULT_ACCOUNT) -> str:
        """An account-wide flood wait for one kind of request; returns until when."""

    async def channel_wait(self, channel: str) -> str | None:
        """The channel's Telethon not-before time, if in force."""

    async def record_channel_wait(self, channel: str, seconds: int) -> str:
        """The channel's Telethon cursor gets a not-before time (its position untouched); returns it."""

    async def stored_channel_id(self, username: str) -> int | None:
        """Telegram's id of the channel whose posts are stored under this username (a reassigned name differs)."""

    async def note_channel_id(self, username: str, channel_id: int) -> None:
        """Keep the channel's numeric id if none is known yet."""

    async def known_users(self, peer_ids: set[int]) -> list[tuple[int, str, str]]:
        """(peer id, username, kind) of bots and users the entity cache knows among these ids."""

    async def pending_api_media_posts(self, channel: str, limit: int) -> list[tuple[int, int]]:
        """(post id, message id) of API media items an earlier sweep left pending."""

    async def pending_api_media(self, channel: str, post_ids: list[int]) -> list[Any]:
        """The pending API media items of these posts, in order (rows with post_id, position, url...)."""

    async def media_not_offered(self, channel: str, post_id: int, position: int, why: str) -> None:
        """An item the collector will not download, with why."""

    async def save_api_channel_profile(self, name: str, profile: dict[str, Any], capture: Capture,
                                       sweep_id: int | None) -> None:
        """A GetFullChannel answer: its capture, the channel's profile and the bots in the chat, in one transaction."""

    async def bots_for_api_profiles(self) -> list[str]:
        """Referenced bots whose API profile may be missing or stale."""

    async def save_api_bot_profile(self, name: str, profile: dict[str, Any], capture: Capture,
                                   sweep_id: int | None) -> None:
        """A GetFullUser answer: its capture, the bot's profile and entity, in one transaction."""

    async def mark_not_a_bot(self, username: str) -> None:
        """A referenced name that is not a bot: the classifier skips it."""
