"""Plain records shared by every collector and stage.

Both collectors (web previews and Telethon) produce these; the store, detectors and exports
only ever see these, never HTML or Telethon objects. Keep them JSON-friendly: ``to_dict``
gives what the store keeps and the exports print.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Literal

from store.custody import sha256
from tgsweep.config import Web, default

MediaKind = Literal[
    "photo", "video", "round_video", "gif", "sticker", "voice", "audio", "document",
    "link_preview_photo", "location", "unsupported",
]


@dataclass(slots=True)
class MediaItem:
    """One piece of media attached to a post, as the page (or the API) shows it."""

    kind: str  # one of MediaKind
    url: str | None = None  # bytes to fetch (photo/video/sticker/voice url); None when not shown
    thumb_url: str | None = None  # video / round video / document thumbnail
    duration: int | None = None  # seconds, for video/round video/voice/audio
    width: int | None = None
    height: int | None = None
    too_big: bool = False  # "Media is too big" marker: the page does not offer the bytes
    title: str | None = None  # document/audio file name or title
    post_id: int | None = None  # album items carry their own post id (t.me/<ch>/<id>?single)


@dataclass(slots=True)
class Forward:
    """Where a forwarded post came from: a public channel post, or a hidden name."""

    channel: str | None = None  # username, lower case
    post: int | None = None
    name: str | None = None  # shown name (always set when known; the only field for hidden sources)
    url: str | None = None
    channel_id: int | None = None  # numeric id of the source channel (Telethon: fwd_from.from_id)
    user_id: int | None = None  # numeric id of a source user who does not hide their account (Telethon)


@dataclass(slots=True)
class Reply:
    channel: str | None = None
    post: int | None = None
    author: str | None = None
    text: str | None = None


@dataclass(slots=True)
class Button:
    """Inline keyboard button. Web previews show URL buttons only."""

    text: str
    url: str | None = None
    kind: str = "url"  # url, callback, web_app, switch_inline (Telethon adds the others)
    data: str | None = None  # Telethon: callback data (base64), switch-inline query, user id, copy text


@dataclass(slots=True)
class LinkPreview:
    url: str | None = None
    site_name: str | None = None
    title: str | None = None
    description: str | None = None
    image_url: str | None = None


@dataclass(slots=True)
class Reaction:
    emoji: str  # the emoji, "custom:<id>" for custom emoji, "paid" for Stars
    count: int


@dataclass(slots=True)
class Poll:
    question: str
    kind: str | None = None  # "anonymous poll", "quiz", ...
    options: list[tuple[str, int | None]] = field(default_factory=list)  # (text, percent)
    votes: int | None = None


@dataclass(slots=True)
class Post:
    """One channel post, whichever collector saw it."""

    channel: str  # username, lower case
    id: int
    date: str | None  # ISO 8601 with offset
    text: str = ""
    links: list[str] = field(default_factory=list)  # every href in the text, in order, deduplicated
    mentions: list[str] = field(default_factory=list)  # usernames (no @, lower case)
    hashtags: list[str] = field(default_factory=list)  # without '#'
    views: int | None = None
    edited: bool = False
    author: str | None = None  # author signature
    forwarded_from: Forward | None = None
    reply_to: Reply | None = None
    via_bot: str | None = None  # username, lower case
    buttons: list[Button] = field(default_factory=list)
    media: list[MediaItem] = field(default_factory=list)
    link_preview: LinkPreview | None = None
    reactions: list[Reaction] = field(default_factory=list)
    service: str | None = None  # text of a service message ("Channel created", ...)
    poll: Poll | None = None
    sticker: bool = False
    unsupported: bool = False  # "not supported in the web preview" marker
    channel_id: int | None = None  # numeric id (data-view "c" on the web, peer id on Telethon)
    source: str = "web"  # web | telethon
    extra: dict[str, Any] = field(default_factory=dict)  # collector-specific fields

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The same text as json.dumps(to_dict()), without asdict's deep copy (the store's hot path)."""
        return json.dumps(self, ensure_ascii=False, default=_fields)

    def content_key(self) -> str:
        """What an edit can change, as JSON: a new key is a new version of the post.

        Views, reactions and media URLs (they expire) change on every look, so they stay out.
        """
        return json.dumps([self.text, self.links, [(b.text, b.url) for b in self.buttons],
                           [(m.kind, m.duration, m.title) for m in self.media], self.via_bot,
                           self.service, self.poll.question if self.poll else None],
                          ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class ChannelInfo:
    """The channel header of a t.me/s page."""

    username: str  # lower case
    title: str | None = None
    description: str | None = None
    verified: bool = False
    photo_url: str | None = None
    counters: dict[str, int] = field(default_factory=dict)  # subscribers, photos, videos, links, files...


@dataclass(slots=True)
class ChannelPage:
    """Everything one t.me/s/<channel> page shows."""

    channel: ChannelInfo | None
    posts: list[Post]
    before: int | None  # data-before of the "load older" link; None when there is none
    no_posts: bool = False  # the "No posts found" feed
    problems: list[str] = field(default_factory=list)  # what could not be read, for the sweep's parse errors


@dataclass(slots=True)
class EntityPage:
    """A t.me/<name> page: what kind of entity it is and what it says about itself."""

    username: str
    kind: str  # channel, group, user, bot, unknown
    title: str | None = None
    description: str | None = None
    extra: str | None = None  # "12 345 subscribers", "@name", ...
    photo_url: str | None = None
    has_preview: bool = False  # a "Preview channel" link to /s/<name>
    counters: dict[str, int] = field(default_factory=dict)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(obj: Any) -> dict[str, Any]:
    """json.dumps hook for nested records: their fields in declaration order, as asdict gives."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a channel's collection stands (crawler/paging.py says how it moves)."""

    last_id: int = 0  # every post with id <= last_id is stored
    top: int | None = None  # an unfinished sweep stored every post in [bottom, top]
    bottom: int | None = None

    @property
    def pending(self) -> bool:
        return self.top is not None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(slots=True)
class Capture:
    """Raw bytes as received, with where they came from."""

    kind: str
    url: str
    content: bytes

    @property
    def sha256(self) -> str:
        return sha256(self.content)


@dataclass(slots=True)
class StoredMedia:
    sha256: str
    md5: str
    size: int
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    path: str | None = None


@dataclass(slots=True)
class PostLimits:
    """Per-post caps ([web] max_bot_lookups_per_post, max_media_per_post): a hostile post names 300 bots."""

    bot_lookups: int = default(Web, "max_bot_lookups_per_post")
    media: int = default(Web, "max_media_per_post")


@dataclass(slots=True)
class Ingested:
    """What one page added, and what it asks to fetch next."""

    new_ids: list[int] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)  # media_items rows to download
    bots: list[str] = field(default_factory=list)  # referenced bots with no profile yet
    limited: list[str] = field(default_factory=list)  # what a cap cut, said as an error


@dataclass(slots=True)
class VerifyReport:
    entries: int
    captures: int
    media_files: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems
