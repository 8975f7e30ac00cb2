"""A Telegram account, offline: real Telethon objects served through exactly the calls the collector makes.

`FakeTelegram` implements connect / is_user_authorized / disconnect, get_entity,
get_input_entity, iter_messages (min_id, reverse, limit; pages of 100 as Telethon requests
them, stopping on a short page), `__call__` for GetFullChannelRequest / GetFullUserRequest and
download_media, and counts every request. Messages get `_finish_init` with the page's entities,
as Telethon's own iterator does. Flood waits and failures are injected per request kind.
"""
from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image
from telethon import errors, functions, types, utils
from telethon._updates import EntityCache as MbEntityCache
from telethon.tl.types import messages as tl_messages
from telethon.tl.types import users as tl_users

from crawler.telethon.mapping import tl_from_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telethon"  # tests/fixtures/telethon
IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "images"
START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def fixture_messages(name: str) -> list[Any]:
    """A JSONL dump (tests/fixtures/telethon) of real `Message.to_dict()` output, rebuilt into Telethon objects."""
    return [tl_from_dict(json.loads(line)) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def fixture_object(name: str) -> Any:
    return tl_from_dict(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small benign picture: one of the 24 Kodak photographs (tests/fixtures/images), reduced."""
    files = sorted(IMAGES.glob("kodim*.png"))
    assert len(files) == 24, f"the Kodak photographs are missing from {IMAGES}"
    with Image.open(files[seed % len(files)]) as img:
        picture = img.convert("RGB").resize(size)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def channel(cid: int, username: str, title: str | None = None, megagroup: bool = False) -> types.Channel:
    return types.Channel(id=cid, title=title or username.title(), photo=types.ChatPhotoEmpty(), date=START,
                         broadcast=not megagroup, megagroup=megagroup, access_hash=cid * 7 + 1, username=username)


def bot(uid: int, username: str, name: str) -> types.User:
    return types.User(id=uid, bot=True, access_hash=uid * 5 + 3, first_name=name, username=username,
                      bot_info_version=3, bot_active_users=1200)


def person(uid: int, username: str) -> types.User:
    return types.User(id=uid, access_hash=uid * 5 + 3, first_name="Some", last_name="Person", username=username)


def photo(pid: int, big: int = 60_000) -> types.Photo:
    return types.Photo(id=pid, access_hash=pid + 1, file_reference=b"ref", date=START, dc_id=2, sizes=[
        types.PhotoStrippedSize(type="i", bytes=b"\x01\x08\x08"),
        types.PhotoSize(type="m", w=320, h=240, size=9_000),
        types.PhotoSize(type="y", w=1280, h=960, size=big)])


def document(did: int, size: int, attributes: list[Any], mime: str = "video/mp4") -> types.Document:
    return types.Document(id=did, access_hash=did + 1, file_reference=b"ref", date=START, mime_type=mime, size=size,
                          dc_id=2, attributes=attributes,
                          thumbs=[types.PhotoSize(type="m", w=320, h=180, size=4_000)])


def message(cid: int, mid: int, text: str = "", **fields: Any) -> types.Message:
    return types.Message(id=mid, peer_id=types.PeerChannel(cid), date=START + timedelta(minutes=mid),
                         message=text, post=True, views=fields.pop("views", 100 + mid), **fields)


@dataclass
class FakeChannel:
    entity: types.Channel
    messages: list[Any] = field(default_factory=list)
    entities: list[Any] = field(default_factory=list)  # users and chats Telegram sends with the history
    about: str = ""
    bots_in_chat: list[types.User] = field(default_factory=list)
    linked: types.Channel | None = None
    gone: type[Exception] | None = None  # ChannelPrivateError...: deleted, private, banned


class FakeTelegram:
    """The calls the collector makes, answered from Telethon objects; `calls` counts requests by kind."""

    def __init__(self, authorised: bool = True, flood_sleep_threshold: int = 60):
        self.authorised = authorised
        self.flood_sleep_threshold = flood_sleep_threshold
        self.channels: dict[str, FakeChannel] = {}
        self.users: dict[str, types.User] = {}
        self.full_users: dict[int, tuple[str, list[types.BotCommand], str]] = {}  # description, commands, about
        self.files: dict[int, bytes] = {}  # photo/document id -> bytes
        self.calls: Counter[str] = Counter()
        self.history_requests: list[dict[str, Any]] = []  # offset/limit of each GetHistory
        self.floods: dict[str, list[int | None]] = {}  # request kind -> FloodWait seconds to raise, in order
        self.flood_at_request: dict[int, int] = {}  # n-th GetHistory (1-based) -> FloodWait seconds
        self.slow_request: dict[int, float] = {}  # n-th GetHistory (1-based) -> seconds before it answers
        self.before_request: dict[int, Any] = {}  # n-th GetHistory (1-based) -> called first (e.g. a signal)
        self.connected = False
        self.sent: list[Any] = []  # anything that is not a read would land here: must stay empty
        self._self_id = 0
        self._mb_entity_cache = MbEntityCache()

    # -- world building ---------------------------------------------------------------------------

    def add_channel(self, chan: FakeChannel) -> FakeChannel:
        self.channels[chan.entity.username.lower()] = chan
        return chan

    def add_bot(self, user: types.User, description: str, commands: list[tuple[str, str]] = (), about: str = "") -> None:
        self.users[user.username.lower()] = user
        self.full_users[user.id] = (description, [types.BotCommand(c, d) for c, d in commands], about)

    # -- session ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.connected = True

    async def is_user_authorized(self) -> bool:
        return self.authorised

    async def disconnect(self) -> None:
        self.connected = False

    def _flood(self, kind: str) -> None:
        waits = self.floods.get(kind)
        if waits:
            seconds = waits.pop(0)  # None: this request goes through
            if seconds is not None:
                raise errors.FloodWaitError(request=None, capture=seconds)

    # -- entities ---------------------------------------------------------------------------------

    def _lookup(self, username: str) -> Any:
        name = username.lstrip("@").lower()
        if name in self.channels:
            chan = self.channels[name]
            return chan.entity
        if name in self.users:
            return self.users[name]
        raise errors.UsernameNotOccupiedError(request=None)

    async def get_entity(self, username: str) -> Any:
        self.calls["resolve"] += 1  # contacts.ResolveUsername
        self._flood("resolve")
        return self._lookup(username)

    async def get_input_entity(self, peer: Any) -> Any:
        if isinstance(peer, (types.InputPeerChannel, types.InputPeerUser)):
            return peer  # no request, as in Telethon
        self.calls["resolve"] += 1
        self._flood("resolve")
        return utils.get_input_peer(self._lookup(peer))

    def _channel_of(self, peer: Any) -> FakeChannel:
        for chan in self.channels.values():
            if chan.entity.id == getattr(peer, "channel_id", None):
                if peer.access_hash != chan.entity.access_hash:
                    raise errors.ChannelInvalidError(request=None)
                return chan
        raise ValueError("Could not find the input entity for PeerChannel")

    # -- requests ---------------------------------------------------------------------------------

    async def __call__(self, request: Any) -> Any:
        if isinstance(request, functions.channels.GetFullChannelRequest):
            self.calls["full_channel"] += 1
            self._flood("full_channel")
            chan = self._channel_of(request.channel)
            if chan.gone:
                raise chan.gone(request=None)
            full = types.ChannelFull(
                id=chan.entity.id, about=chan.about, read_inbox_max_id=0, read_outbox_max_id=0, unread_count=0,
                chat_photo=types.PhotoEmpty(id=0), notify_settings=types.PeerNotifySettings(), pts=1,
                participants_count=4321, linked_chat_id=chan.linked.id if chan.linked else None,
                bot_info=[types.BotInfo(user_id=u.id, description=self.full_users[u.id][0],
                                        commands=self.full_users[u.id][1]) for u in chan.bots_in_chat])
            chats = [chan.entity] + ([chan.linked] if chan.linked else [])
            return tl_messages.ChatFull(full_chat=full, chats=chats, users=list(chan.bots_in_chat))
        if isinstance(request, functions.users.GetFullUserRequest):
            self.calls["full_user"] += 1
            self._flood("full_user")
            user = next((u for u in self.users.values() if u.id == request.id.user_id), None)
            if user is None or request.id.access_hash != user.access_hash:
                raise errors.UserIdInvalidError(request=None)
            description, commands, about = self.full_users[user.id]
            full = types.UserFull(id=user.id, settings=types.PeerSettings(), notify_settings=types.PeerNotifySettings(),
                                  common_chats_count=0, about=about,
                                  bot_info=types.BotInfo(user_id=user.id, description=description, commands=commands))
            return tl_users.UserFull(full_user=full, chats=[], users=[user])
        self.sent.append(request)
        raise AssertionError(f"the collector made a request it must never make: {type(request).__name__}")

    def iter_messages(self, entity: Any, limit: int | None = None, *, min_id: int = 0, reverse: bool = False,
                      **kwargs: Any):
        """Telethon's iterator over messages.GetHistory: chunks of 100, oldest first with reverse=True."""
        assert reverse and not kwargs, "the collector reads history oldest first and asks for nothing else"
        return self._history(entity, limit, min_id)

    async def _history(self, entity: Any, limit: int | None, min_id: int):
        chan = self._channel_of(entity)
        by_id = {utils.get_peer_id(e): e for e in chan.entities + [chan.entity]}
        wanted = sorted((m for m in chan.messages if m.id > min_id), key=lambda m: m.id)
        offset, yielded = min_id, 0
        while True:
            self.calls["history"] += 1
            n = self.calls["history"]
            self.history_requests.append({"offset_id": offset, "limit": 100})
            if n in self.before_request:
                self.before_request.pop(n)()
            if n in self.slow_request:
                await asyncio.sleep(self.slow_request.pop(n))
            if n in self.flood_at_request:
                raise errors.FloodWaitError(request=None, capture=self.flood_at_request.pop(n))
            self._flood("history")
            if chan.gone:
                raise chan.gone(request=None)
            page = [m for m in wanted if m.id > offset][:100]
            for msg in page:
                msg._finish_init(self, by_id, entity)
                yield msg
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            if len(page) < 100:
                return
            offset = page[-1].id

    async def get_messages(self, entity: Any, ids: list[int]) -> list[Any]:
        """channels.GetMessages: messages by id (None where there is none), as Telethon returns them."""
        self.calls["get_messages"] += 1
        self._flood("history")
        chan = self._channel_of(entity)
        if chan.gone:
            raise chan.gone(request=None)
        by_id = {m.id: m for m in chan.messages}
        entities = {utils.get_peer_id(e): e for e in chan.entities + [chan.entity]}
        found = [by_id.get(i) for i in ids]
        for msg in found:
            if msg is not None:
                msg._finish_init(self, entities, entity)
        return found

    async def download_media(self, msg: Any, file: Any = None, thumb: Any = None) -> bytes | None:
        assert file is bytes
        self.calls["media"] += 1
        self._flood("media")
        media = msg.media
        target = (getattr(media, "photo", None) or getattr(media, "document", None)
                  or getattr(getattr(media, "webpage", None), "photo", None))
        if target is None:
            return None
        data = self.files.get(target.id)
        if data is None:
            return None
        if thumb is not None:
            self.calls["media_thumb"] += 1
            if isinstance(target, types.Document):
                return jpeg(target.id, (32, 18))  # a document's thumbnail is a small picture
        return data
