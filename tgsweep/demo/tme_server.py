"""A loopback HTTP server shaped like t.me's public web previews.

The project's real spider and real parser must be tested (and demoed) against something that
answers like t.me without touching the network. This module holds a *world* of channels, bots,
users and groups, renders their ``/s/<name>`` feed pages and ``/<name>`` entity pages with the
markup and class names of the real pages in shared/fixtures/tme_preview, serves media bytes as a
CDN would, and can be told to misbehave (429, 5xx, the empty soft-limit page, truncated bodies,
slow answers) once per request, from Python or over HTTP.

Routes::

    GET  /s/<name>[?before=N]   feed page, newest ``page_size`` wraps with id < N, oldest first
                                302 -> /<name> when the name has no public preview
    GET  /<name>                entity page (channel, group, user, bot; a generic page if unknown)
    GET  /file/<name>           media bytes
    GET  /<name>/<id>[?embed=1] the post's embed widget; "Post not found" (tgme_widget_message_error)
                                when the post or channel is gone (a takedown)
    POST /__admin/faults        {"path": "/s/x", "faults": [{"status": 429, "retry_after": 1}, ...]}
                                (or {"path", "fault": {...}}, or a list of either); a fault is any of
                                status (+retry_after, +location), empty, truncate (fraction sent), delay (s)
    GET|DELETE /__admin/faults  pending faults / clear them
    POST /__admin/posts         a Post dict (records.Post.to_dict() shape; "channel", "id", "date"
                                required; links/mentions/hashtags filled from "text" when all absent),
                                or {"post": {...}, "files": {"name.jpg": "<base64>"}}
    DELETE /__admin/posts       {"channel", "id"}: delete a post (as a takedown would)
    GET|DELETE /__admin/requests  the request log [{method, path, query, status}] / clear it

Links inside pages always name ``https://t.me/...`` as real pages do; media URLs stored in the
world as ``/file/<name>`` are rendered against the server's own base URL.

World JSON (``world_to_json``)::

    {"page_size": 20,
     "entities": [{"username", "id", "title", "kind", "description", "preview", "verified",
                   "counters": {"subscribers": 1234, ...}, "members", "online", "photo",
                   "posts": [Post.to_dict(), ...]}, ...],
     "files": {"<name>": "<base64 bytes>"}}
"""
from __future__ import annotations

import argparse
import base64
import bisect
import copy
import hashlib
import html
import json
import re
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from store.records import (
    Button,
    Forward,
    LinkPreview,
    MediaItem,
    Poll,
    Post,
    Reaction,
    Reply,
)

TME = "https://t.me"

# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


@dataclass
class Entity:
    """One public name on t.me: a channel, group, user or bot, and (for channels) its posts."""

    username: str
    id: int  # numeric channel id; data-view "c" is its negative, as on real pages
    title: str
    kind: str = "channel"  # channel, group, user, bot
    description: str = ""
    preview: bool = True  # has a public /s/ feed (only channels can)
    verified: bool = False
    counters: dict[str, int] = field(default_factory=dict)  # subscribers, photos, videos, files, links
    members: int | None = None  # groups: "N members, M online"
    online: int | None = None
    photo: str | None = None  # avatar url, usually "/file/<name>"
    posts: list[Post] = field(default_factory=list)  # kept sorted by id

    @property
    def has_preview(self) -> bool:
        return self.kind == "channel" and self.preview


@dataclass
class World:
    """Everything the server serves: entities by lower-case username, and media bytes by file name."""

    entities: dict[str, Entity] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    page_size: int = 20

    def add(self, entity: Entity) -> Entity:
        entity.posts.sort(key=lambda p: p.id)
        self.entities[entity.username.lower()] = entity
        return entity

    def get(self, name: str) -> Entity | None:
        return self.entities.get(name.lower())


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------

_NESTED_ONE = {"forwarded_from": Forward, "reply_to": Reply, "link_preview": LinkPreview, "poll": Poll}
_NESTED_LIST = {"buttons": Button, "media": MediaItem, "reactions": Reaction}


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def post_from_dict(data: dict[str, Any]) -> Post:
    """Rebuild a Post (with its nested records) from ``Post.to_dict()`` output or admin JSON."""
    data = dict(data)
    for key, cls in _NESTED_ONE.items():
        if data.get(key) is not None:
            data[key] = _build(cls, data[key])
    for key, cls in _NESTED_LIST.items():
        data[key] = [_build(cls, item) for item in data.get(key) or []]
    if data.get("poll") is not None:
        data["poll"].options = [tuple(o) for o in data["poll"].options]
    post = _build(Post, data)
    post.channel = post.channel.lower()
    return post


def world_to_dict(world: World) -> dict[str, Any]:
    entities = []
    for e in world.entities.values():
        d = asdict(e)
        d["posts"] = [p.to_dict() for p in e.posts]
        entities.append(d)
    files = {name: base64.b64encode(data).decode("ascii") for name, data in world.files.items()}
    return {"page_size": world.page_size, "entities": entities, "files": files}


def world_from_dict(data: dict[str, Any]) -> World:
    world = World(page_size=int(data.get("page_size", 20)))
    for d in data.get("entities", []):
        d = dict(d)
        d["posts"] = [post_from_dict(p) for p in d.get("posts", [])]
        world.add(_build(Entity, d))
    world.files = {name: base64.b64decode(b64) for name, b64 in data.get("files", {}).items()}
    return world


def world_to_json(world: World) -> str:
    """The world as JSON (files base64-encoded), for ``--world FILE.json`` subprocess mode."""
    return json.dumps(world_to_dict(world), ensure_ascii=False)


def world_from_json(text: str) -> World:
    return world_from_dict(json.loads(text))


# --------------------------------------------------------------------------------------------
# Text entities: one tokenizer for rendering text and for filling Post.links/mentions/hashtags
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<url>https?://[^\s<>\"']+)"
    r"|(?P<mention>(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31})"
    r"|(?P<tag>(?<![\w#&/])#[^\W\d_][\w]*)"
)
_URL_TRAIL = ".,;:!?)]}'\""
_TME_USER = re.compile(r"^https?://(?:www\.)?(?:t\.me|telegram\.me)/([A-Za-z][A-Za-z0-9_]{3,31})(?:[/?#]|$)")
_NOT_USERS = {"s", "c", "joinchat", "addstickers", "addemoji", "addlist", "share", "proxy", "socks",
              "login", "invoice", "boost", "contact", "iv", "bg", "setlanguage", "addtheme"}


def _tokens(text: str, text_links: list[list[str]] | None = None) -> list[tuple[int, int, str, str]]:
    """Spans (start, end, kind, value) of links in ``text``: text links first, then autolinks."""
    spans: list[tuple[int, int, str, str]] = []
    for anchor, url in text_links or []:
        at = text.find(anchor)
        if at >= 0 and not any(s < at + len(anchor) and at < e for s, e, _, _ in spans):
            spans.append((at, at + len(anchor), "text_link", url))
    for m in _TOKEN.finditer(text):
        start, end, kind = m.start(), m.end(), m.lastgroup or ""
        if kind == "url":
            while end > start and text[end - 1] in _URL_TRAIL:
                end -= 1
        if any(s < end and start < e for s, e, _, _ in spans):
            continue
        spans.append((start, end, kind, text[start:end]))
    spans.sort()
    return spans


def fill_text_entities(post: Post) -> Post:
    """Set links, mentions and hashtags from the text, exactly as the page will show them.

    ``links`` are the hrefs of the text in order (URLs, text links, and the t.me links that
    mentions become), deduplicated; hashtag search links are not links. ``mentions`` are the
    usernames those links name (an @mention is a t.me link on the page), in the same order.
    Text links (anchor text != URL) come from ``post.extra["text_links"]``: [[anchor, url], ...].
    """
    links: list[str] = []
    mentions: list[str] = []
    tags: list[str] = []
    for _, _, kind, value in _tokens(post.text, post.extra.get("text_links")):
        if kind in ("url", "text_link"):
            links.append(value)
            user = _TME_USER.match(value)
            if user and user.group(1).lower() not in _NOT_USERS:
                mentions.append(user.group(1).lower())
        elif kind == "mention":
            mentions.append(value[1:].lower())
            links.append(f"{TME}/{value[1:]}")
        elif kind == "tag":
            tags.append(value[1:])
    post.links = list(dict.fromkeys(links))
    post.mentions = list(dict.fromkeys(mentions))
    post.hashtags = list(dict.fromkeys(tags))
    return post


_CONFIRM = " onclick=\"return confirm('Open this link?\\n\\n'+this.href);\""


def _esc(s: str | None) -> str:
    return html.escape(s or "", quote=True)


def _text_html(text: str, text_links: list[list[str]] | None = None) -> str:
    """Plain text -> the inner HTML t.me shows: escaped, <br/> for newlines, links as anchors."""
    out: list[str] = []
    pos = 0
    for start, end, kind, value in _tokens(text, text_links):
        out.append(_esc(text[pos:start]))
        shown = _esc(text[start:end])
        if kind == "url":
            out.append(f'<a href="{_esc(value)}" target="_blank" rel="noopener">{shown}</a>')
        elif kind == "text_link":
            out.append(f'<a href="{_esc(value)}" target="_blank" rel="noopener"{_CONFIRM}>{shown}</a>')
        elif kind == "mention":
            out.append(f'<a href="{TME}/{_esc(value[1:])}" target="_blank">{shown}</a>')
        else:
            out.append(f'<a href="?q={quote(value)}">{shown}</a>')
        pos = end
    out.append(_esc(text[pos:]))
    return "".join(out).replace("\n", "<br/>")


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def format_count(n: int) -> str:
    """1234 -> "1.23K", 113400 -> "113K", 10712345 -> "10.7M": three significant digits as t.me."""
    if n < 1000:
        return str(n)
    units = [(10**9, "B"), (10**6, "M"), (10**3, "K")]
    for i, (div, suffix) in enumerate(units):
        if n >= div:
            shown = float(f"{n / div:.3g}")
            if shown >= 1000 and i > 0:
                div, suffix = units[i - 1]
                shown = float(f"{n / div:.3g}")
            return f"{shown:g}{suffix}"
    return str(n)


def _spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _duration(seconds: int | None) -> str:
    s = int(seconds or 0)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _clock(date: str | None) -> str:
    try:
        return datetime.fromisoformat(date or "").strftime("%H:%M")
    except ValueError:
        return ""


def _url(url: str | None, base: str) -> str:
    """Server-relative media paths become absolute on this server, as CDN URLs are."""
    if url and url.startswith("/"):
        return base + url
    return url or ""


def absolute_urls(post: Post, base_url: str) -> Post:
    """A copy of ``post`` with its media URLs as the page shows them (for comparisons in tests)."""
    post = copy.deepcopy(post)
    for m in post.media:
        m.url = _url(m.url, base_url) or None
        m.thumb_url = _url(m.thumb_url, base_url) or None
    if post.link_preview is not None:
        post.link_preview.image_url = _url(post.link_preview.image_url, base_url) or None
    return post


def _initials(title: str) -> str:
    words = [w for w in re.split(r"\s+", title) if w]
    return "".join(w[0] for w in words[:2]) or "?"


def _is_album(post: Post) -> bool:
    visible = [m for m in post.media if m.kind != "link_preview_photo"]
    return len(visible) > 1 and all(m.kind in ("photo", "video", "gif") for m in visible)


def data_view(channel_id: int, post: Post, rendered_at: int) -> str:
    """The data-view blob: base64url JSON {"c": -<channel id>, "p": id (or "<id>g"), "t", "h"}."""
    p: int | str = f"{post.id}g" if _is_album(post) else post.id
    h = hashlib.sha256(f"{channel_id}/{post.id}".encode()).hexdigest()[:18]
    raw = json.dumps({"c": -abs(channel_id), "p": p, "t": rendered_at, "h": h}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_TAIL = (
    '<i class="tgme_widget_message_bubble_tail">\n'
    '      <svg class="bubble_icon" width="9px" height="20px" viewBox="0 0 9 20">\n'
    '        <g fill="none">\n'
    '          <path class="background" fill="#ffffff" d="M8,1 L9,1 L9,20 L8,20 L8,18 C7.807,15.161 '
    '7.124,12.233 5.950,9.218 C5.046,6.893 3.504,4.733 1.325,2.738 L1.325,2.738 C0.917,2.365 0.89,1.732 '
    '1.263,1.325 C1.452,1.118 1.72,1 2,1 L8,1 Z"></path>\n'
    '        </g>\n'
    '      </svg>\n'
    '    </i>'
)

_NOT_SUPPORTED = (
    '<div class="message_media_not_supported_wrap">\n'
    '  <div class="message_media_not_supported">\n'
    '    <div class="message_media_not_supported_label">{label}</div>\n'
    '    <span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span>\n'
    '  </div>\n'
    '</div>'
)


def _photo_style(item: MediaItem, url: str) -> tuple[str, str]:
    w, h = item.width or 800, item.height or 600
    return f"width:{w}px;background-image:url('{_esc(url)}')", f"padding-top:{h / w * 100:.3f}%"


def _render_photo(item: MediaItem, href: str, base: str) -> str:
    outer, inner = _photo_style(item, _url(item.url, base))
    return (f'<a class="tgme_widget_message_photo_wrap" href="{href}" style="{outer}">\n'
            f'  <div class="tgme_widget_message_photo" style="{inner}"></div>\n</a>')


def _render_video(item: MediaItem, href: str, base: str, grouped: bool = False) -> str:
    gif = item.kind == "gif"
    cls = "tgme_widget_message_video_player"
    if grouped:
        cls += " grouped_media_wrap blured"
    if item.too_big:
        cls += " not_supported"
    parts = [f'<a class="{cls} js-message_video_player" href="{href}">'
             f'<i class="tgme_widget_message_video_thumb" '
             f"style=\"background-image:url('{_esc(_url(item.thumb_url, base))}')\"></i>"]
    w, h = item.width or 1280, item.height or 720
    wrap = f'<div class="tgme_widget_message_video_wrap" style="width:{w}px;padding-top:{h / w * 100:.3f}%">'
    if item.too_big or not item.url:
        parts.append(wrap + "\n</div>")
    else:
        extra = " preload muted autoplay loop playsinline" if gif else ""
        parts.append(f'{wrap}\n  <video src="{_esc(_url(item.url, base))}" class="tgme_widget_message_video '
                     f'js-message_video" width="100%" height="100%"{extra}></video>\n</div>')
    if not gif:
        parts.append('<div class="message_video_play js-message_video_play"></div>\n'
                     f'<time class="message_video_duration js-message_video_duration">'
                     f"{_duration(item.duration)}</time>")
    label = "Media is too big" if item.too_big else "This media is not supported in your browser"
    parts.append(_NOT_SUPPORTED.format(label=label) + "</a>")
    return "\n".join(parts)


def _render_grouped(post: Post, base: str) -> str:
    items = []
    for i, item in enumerate(post.media):
        href = f"{TME}/{post.channel}/{item.post_id or post.id + i}?single"
        if item.kind in ("video", "gif"):
            items.append(_render_video(item, href, base, grouped=True))
            continue
        w, h = item.width or 800, item.height or 600
        items.append(
            f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
            f"style=\"left:0px;top:0px;width:{w // 2}px;height:{h // 2}px;margin-right:2px;"
            f"margin-bottom:0px;background-image:url('{_esc(_url(item.url, base))}')\" "
            f'data-ratio="{w / h:.4f}" href="{href}">'
            '<div class="grouped_media_helper" style="top:0;bottom:0;left:0px;right:0px;">'
            '<div class="tgme_widget_message_photo grouped_media" style="top:0;bottom:0;left:0px;right:0px;">'
            "</div></div></a>")
    return ('<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" '
            'data-margin-h="2" style="width:453px;">\n'
            '  <div class="tgme_widget_message_grouped js-message_grouped" style="padding-top:75%">\n'
            '    <div class="tgme_widget_message_grouped_layer js-message_grouped_layer" '
            'style="width:453px;height:340px">' + "".join(items) + "</div>\n  </div>\n</div>")


def _render_media_item(post: Post, item: MediaItem, base: str) -> str:
    href = f"{TME}/{post.channel}/{post.id}"
    kind = item.kind
    if kind == "photo":
        return _render_photo(item, href, base)
    if kind in ("video", "gif"):
        return _render_video(item, href, base)
    if kind == "round_video":
        return ('<div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player">\n'
                '  <div class="tgme_widget_message_roundvideo_wrap">\n'
                f"    <i class=\"tgme_widget_message_roundvideo_thumb\" "
                f"style=\"background-image:url('{_esc(_url(item.thumb_url, base))}')\"></i>\n"
                f'    <video class="tgme_widget_message_roundvideo js-message_roundvideo" '
                f'src="{_esc(_url(item.url, base))}" width="100%" height="100%" preload="" muted="" '
                'autoplay="" loop="" playsinline=""></video>\n'
                '    <div class="tgme_widget_message_roundvideo_border"></div>\n  </div>\n'
                '  <div class="tgme_widget_message_roundvideo_play js-message_roundvideo_play"></div>\n'
                f'  <time class="tgme_widget_message_roundvideo_duration js-message_roundvideo_duration">'
                f"{_duration(item.duration)}</time>\n</div>")
    if kind == "sticker":
        return ('<div class="message_media_not_supported_wrap media_not_supported_cont">\n'
                '  <div class="message_media_not_supported">\n'
                '    <div class="message_media_not_supported_label">This media is not supported in your '
                'browser</div>\n'
                f'    <a href="{href}" class="message_media_view_in_telegram">VIEW IN TELEGRAM</a>\n'
                "  </div>\n</div>\n"
                '<div class="tgme_widget_message_sticker_wrap media_supported_cont">'
                f'<i class="tgme_widget_message_sticker js-sticker_image" style="width:256px;" '
                f'data-webp="{_esc(_url(item.url, base))}"><div style="padding-top:100%"></div></i></div>')
    if kind == "voice":
        return (f'<a class="tgme_widget_message_voice_player js-message_voice_player" href="{href}">\n'
                f'  <audio class="tgme_widget_message_voice js-message_voice" src="{_esc(_url(item.url, base))}"'
                ' data-ogg="" width="100%" data-waveform=""></audio>\n'
                '  <div class="tgme_widget_message_voice_play accent_bghover"></div>\n'
                '  <div class="tgme_widget_message_voice_wrap">\n'
                f'    <time class="tgme_widget_message_voice_duration js-message_voice_duration">'
                f"{_duration(item.duration)}</time>\n  </div>\n</a>")
    if kind in ("document", "audio"):
        icon = " audio" if kind == "audio" else ""
        return (f'<a class="tgme_widget_message_document_wrap" href="{href}">\n'
                f'  <div class="tgme_widget_message_document_icon accent_bg{icon}"></div>\n'
                '  <div class="tgme_widget_message_document">\n'
                f'    <div class="tgme_widget_message_document_title accent_color" dir="auto">'
                f"{_esc(item.title)}</div>\n"
                f'    <div class="tgme_widget_message_document_extra" dir="auto">'
                f'{"audio" if kind == "audio" else "1.2 MB"}</div>\n  </div>\n</a>')
    if kind == "location":
        return ('<a class="tgme_widget_message_location_wrap" '
                'href="https://maps.google.com/maps?q=48.8566,2.3522&amp;ll=48.8566,2.3522&amp;z=16">'
                f"<div class=\"tgme_widget_message_location\" style=\"background-image:url('"
                f"{_esc(_url(item.url, base))}')\"></div></a>")
    return _NOT_SUPPORTED.format(label="This media is not supported in your browser")


def _render_poll(post: Post) -> str:
    poll = post.poll
    assert poll is not None
    options = "".join(
        '<div class="tgme_widget_message_poll_option">'
        f'<div class="tgme_widget_message_poll_option_percent">{pct if pct is not None else 0}%</div>'
        '<div class="tgme_widget_message_poll_option_value">'
        f'<div class="tgme_widget_message_poll_option_text">{_esc(text)}</div>'
        f'<div class="tgme_widget_message_poll_option_bar accent_bg" style="width:{pct or 0}%"></div>'
        "</div></div>"
        for text, pct in poll.options)
    return ('<div class="tgme_widget_message_poll js-poll">\n'
            f'  <div class="tgme_widget_message_poll_question">{_esc(poll.question)}</div>\n'
            f'  <div class="tgme_widget_message_poll_type">{_esc((poll.kind or "anonymous poll").title())}</div>\n'
            f'  <a class="tgme_widget_message_poll_options" href="{TME}/{post.channel}/{post.id}">'
            f"{options}</a>\n</div>")


def _render_reactions(post: Post) -> str:
    spans = []
    for r in post.reactions:
        count = format_count(r.count)
        if r.emoji == "paid":
            spans.append(f'<span class="tgme_reaction tgme_reaction_paid">'
                         f'<i class="icon icon-telegram-stars"></i>{count}</span>')
        elif r.emoji.startswith("custom:"):
            spans.append(f'<span class="tgme_reaction"><tg-emoji emoji-id="{_esc(r.emoji[7:])}">'
                         f"</tg-emoji>{count}</span>")
        else:
            code = r.emoji.encode("utf-8").hex().upper()
            spans.append(f'<span class="tgme_reaction"><i class="emoji" style="background-image:url('
                         f"'//telegram.org/img/emoji/40/{code}.png')\"><b>{_esc(r.emoji)}</b></i>{count}</span>")
    return f'<div class="tgme_widget_message_reactions js-message_reactions">{"".join(spans)}</div>'


def _render_forward(fwd: Forward) -> str:
    name = f'<span dir="auto">{_esc(fwd.name or fwd.channel)}</span>'
    if fwd.channel:
        url = fwd.url or (f"{TME}/{fwd.channel}/{fwd.post}" if fwd.post else f"{TME}/{fwd.channel}")
        inner = f'<a class="tgme_widget_message_forwarded_from_name" href="{_esc(url)}">{name}</a>'
    else:
        inner = f'<span class="tgme_widget_message_forwarded_from_name">{name}</span>'
    return f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;{inner}</div>'


def _render_reply(post: Post) -> str:
    reply = post.reply_to
    assert reply is not None
    channel = reply.channel or post.channel
    return (f'<a class="tgme_widget_message_reply" href="{TME}/{channel}/{reply.post}">'
            '<div class="tgme_widget_message_author accent_color">'
            f'<span class="tgme_widget_message_author_name" dir="auto">{_esc(reply.author)}</span></div>'
            f'<div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">'
            f"{_esc(reply.text)}</div></a>")


def _render_link_preview(lp: LinkPreview, base: str) -> str:
    parts = [f'<a class="tgme_widget_message_link_preview" href="{_esc(lp.url)}">']
    if lp.site_name:
        parts.append(f'  <div class="link_preview_site_name accent_color" dir="auto">{_esc(lp.site_name)}</div>')
    if lp.image_url:
        parts.append(f"  <i class=\"link_preview_image\" style=\"background-image:url('"
                     f"{_esc(_url(lp.image_url, base))}');padding-top:56.25%\"></i>")
    if lp.title:
        parts.append(f'  <div class="link_preview_title" dir="auto">{_esc(lp.title)}</div>')
    if lp.description:
        parts.append(f'  <div class="link_preview_description" dir="auto">{_esc(lp.description)}</div>')
    parts.append("</a>")
    return "\n".join(parts)


def _render_buttons(buttons: list[Button]) -> str:
    rows = "".join(
        '<div class="tgme_widget_message_inline_row">'
        f'<a class="tgme_widget_message_inline_button url_button" href="{_esc(b.url)}" target="_blank" '
        f'rel="noopener"{_CONFIRM}><span class="tgme_widget_message_inline_button_text" dir="auto">'
        f"{_esc(b.text)}</span></a></div>"
        for b in buttons if b.url)
    return f'<div class="tgme_widget_message_inline_keyboard">{rows}</div>' if rows else ""


def render_post(post: Post, entity: Entity, base_url: str, rendered_at: int = 0) -> str:
    """One ``.tgme_widget_message_wrap`` for ``post``, as it appears on the channel's feed page."""
    ch = entity.username
    classes = "tgme_widget_message text_not_supported_wrap"
    kinds = {m.kind for m in post.media}
    if post.service:
        classes += " service_message"
    elif post.sticker or kinds == {"sticker"}:
        classes += " sticker_media no_bubble"
    elif kinds == {"round_video"}:
        classes += " roundvideo_media no_bubble"
    photo = (f'<img src="{_esc(_url(entity.photo, base_url))}">' if entity.photo else "")
    out = [
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="{classes} js-widget_message" data-post="{_esc(ch)}/{post.id}" '
        f'data-view="{data_view(entity.id, post, rendered_at)}">',
        f'  <div class="tgme_widget_message_user"><a href="{TME}/{ch}"><i class="tgme_widget_message_user_photo '
        f'bgcolor{entity.id % 7}" data-content="{_esc(_initials(entity.title)[:1])}">{photo}</i></a></div>',
        '  <div class="tgme_widget_message_bubble">',
        "    " + _TAIL,
    ]
    via = (f'&nbsp;via&nbsp;<a class="tgme_widget_message_via_bot" href="{TME}/{_esc(post.via_bot)}">'
           f"@{_esc(post.via_bot)}</a>" if post.via_bot else "")
    out.append('    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
               f'href="{TME}/{ch}"><span dir="auto">{_esc(entity.title)}</span></a>{via}</div>')
    if post.service:
        out.append(f'<div class="tgme_widget_message_text js-message_text" dir="auto">{_esc(post.service)}</div>')
    else:
        if post.forwarded_from is not None:
            out.append(_render_forward(post.forwarded_from))
        if post.reply_to is not None:
            out.append(_render_reply(post))
        visible = [m for m in post.media if m.kind != "link_preview_photo"]
        if _is_album(post):
            out.append(_render_grouped(post, base_url))
        else:
            out.extend(_render_media_item(post, m, base_url) for m in visible)
        if post.unsupported:
            out.append('<div class="media_not_supported_cont">' + _NOT_SUPPORTED.format(
                label="Please open Telegram to view this post") + "</div>")
        if post.poll is not None:
            out.append(_render_poll(post))
        if post.text:
            out.append('<div class="tgme_widget_message_text js-message_text" dir="auto">'
                       f'{_text_html(post.text, post.extra.get("text_links"))}</div>')
        if post.link_preview is not None:
            out.append(_render_link_preview(post.link_preview, base_url))
        if post.reactions:
            out.append(_render_reactions(post))
    info = []
    if post.poll is not None and post.poll.votes is not None:
        word = "voter" if post.poll.votes == 1 else "voters"
        info.append(f'<span class="tgme_widget_message_voters">{format_count(post.poll.votes)}</span>'
                    f'<span class="copyonly"> {word}</span>')
    if post.views is not None and not post.service:
        info.append(f'<span class="tgme_widget_message_views">{format_count(post.views)}</span>'
                    '<span class="copyonly"> views</span>')
    meta = ""
    if post.author:
        meta += f'<span class="tgme_widget_message_from_author" dir="auto">{_esc(post.author)}</span>,&nbsp;'
    if post.edited:
        meta += "edited &nbsp;"
    meta += (f'<a class="tgme_widget_message_date" href="{TME}/{ch}/{post.id}">'
             f'<time datetime="{_esc(post.date)}" class="time">{_clock(post.date)}</time></a>')
    info.append(f'<span class="tgme_widget_message_meta">{meta}</span>')
    out.append('<div class="tgme_widget_message_footer compact js-message_footer">\n'
               '  <div class="tgme_widget_message_info short js-message_info">\n    '
               + "".join(info) + "\n  </div>\n</div>")
    out.append("  </div>")  # bubble
    if post.buttons and not post.service:
        out.append(_render_buttons(post.buttons))
    out.append("</div></div>")
    return "\n".join(out)


_COUNTER_ORDER = ("subscribers", "members", "photos", "videos", "files", "links")


def _counters_html(counters: dict[str, int]) -> str:
    keys = [k for k in _COUNTER_ORDER if k in counters] + [k for k in counters if k not in _COUNTER_ORDER]
    return "".join(
        f'<div class="tgme_channel_info_counter"><span class="counter_value">{format_count(counters[k])}</span> '
        f'<span class="counter_type">{k[:-1] if counters[k] == 1 and k.endswith("s") else k}</span></div>'
        for k in keys)


def _head(title: str, description: str, image: str, extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n"
        f"    <title>{_esc(title)}</title>\n"
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0, '
        'maximum-scale=1.0, user-scalable=no" />\n'
        f'<meta property="og:title" content="{_esc(title)}">\n'
        f'<meta property="og:image" content="{_esc(image)}">\n'
        '<meta property="og:site_name" content="Telegram">\n'
        f'<meta property="og:description" content="{_esc(description)}">\n'
        f'<meta property="twitter:title" content="{_esc(title)}">\n'
        f'<meta name="twitter:description" content="{_esc(description)}">\n'
        f"{extra}"
        '    <link href="//telegram.org/css/widget-frame.css?73" rel="stylesheet" media="screen">\n'
        '    <link href="//telegram.org/css/telegram-web.css?39" rel="stylesheet" media="screen">\n'
        "    <script>TBaseUrl='/';</script>\n  </head>\n"
    )


def render_channel_page(entity: Entity, posts: list[Post], before: int | None, has_older: bool,
                        base_url: str, rendered_at: int = 0, wraps: list[str] | None = None) -> str:
    """The whole /s/<name> page: header, "load older" link, message wraps (oldest first)."""
    name = entity.username
    photo_url = _url(entity.photo, base_url)
    lo = posts[0].id if posts else None
    links = ""
    if has_older and lo is not None:
        links += f'    <link rel="prev" href="/s/{name}?before={lo}">\n'
    if before is not None:
        links += f'<link rel="canonical" href="/s/{name}?before={before}">\n'
    desc_html = _text_html(entity.description)
    verified = '<i class="verified-icon"> ✔</i>' if entity.verified else ""
    subs = entity.counters.get("subscribers")
    header_counter = (f'<div class="tgme_header_counter">{format_count(subs)} subscribers</div>'
                      if subs is not None else "")
    img = f'<img src="{_esc(photo_url)}">' if photo_url else ""
    out = [
        _head(entity.title, entity.description, photo_url, links),
        '  <body class="widget_frame_base tgme_webpreview mobile emoji_image thin_box_shadow tme_mode '
        'no_transitions">\n'
        '    <header class="tgme_header search_collapsed">\n  <div class="tgme_container">\n'
        '    <div class="tgme_header_search">\n'
        f'      <form class="tgme_header_search_form" action="/s/{name}">\n'
        '        <input class="tgme_header_search_form_input js-header_search" placeholder="Search" name="q" '
        'autocomplete="off" value="" />\n      </form>\n    </div>\n'
        '    <div class="tgme_header_right_column">\n      <section class="tgme_right_column">\n'
        '        <div class="tgme_channel_info">\n'
        '          <div class="tgme_channel_info_header">\n'
        f'            <i class="tgme_page_photo_image bgcolor{entity.id % 7}" '
        f'data-content="{_esc(_initials(entity.title))}">{img}</i>\n'
        '            <div class="tgme_channel_info_header_title_wrap">\n'
        f'              <div class="tgme_channel_info_header_title"><span dir="auto">{_esc(entity.title)}'
        "</span></div>\n"
        f'              <div class="tgme_channel_info_header_labels">{verified}</div>\n'
        "            </div>\n"
        f'            <div class="tgme_channel_info_header_username"><a href="{TME}/{name}">@{name}</a></div>\n'
        "          </div>\n"
        f'          <div class="tgme_channel_info_counters">{_counters_html(entity.counters)}</div>\n'
        f'          <div class="tgme_channel_info_description">{desc_html}</div>\n'
        "        </div>\n      </section>\n    </div>\n"
        '    <div class="tgme_header_info">\n'
        f'      <a class="tgme_header_link" href="{TME}/{name}">\n'
        '        <div class="tgme_header_title_wrap">\n'
        f'          <div class="tgme_header_title"><span dir="auto">{_esc(entity.title)}</span></div>\n'
        f'          <div class="tgme_header_labels">{verified}</div>\n        </div>\n'
        f"        {header_counter}\n      </a>\n    </div>\n  </div>\n</header>\n"
        f'<main class="tgme_main" data-url="/{name}">\n  <div class="tgme_container">\n'
        '    <section class="tgme_channel_history js-message_history">\n      ',
    ]
    if has_older and lo is not None:
        out.append('<div class="tgme_widget_message_centered js-messages_more_wrap">'
                   f'<a href="/s/{name}?before={lo}" class="tme_messages_more js-messages_more" '
                   f'data-before="{lo}"></a></div>')
    if posts:
        if wraps is None:
            wraps = [render_post(p, entity, base_url, rendered_at) for p in posts]
        out.extend(wraps)
    else:
        out.append('<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="'
                   'tgme_widget_message_centered"><div class="tme_no_messages_found">No posts found</div>'
                   "</div></div>")
    out.append("\n    </section>\n  </div>\n</main>\n"
               '    <script src="//telegram.org/js/widget-frame.js?66"></script>\n'
               '    <script src="//telegram.org/js/telegram-web.js?14"></script>\n'
               "    <script>TWeb.init();\n</script>\n  </body>\n</html>\n")
    return "".join(out)


_ACTION = {"channel": "View in Telegram", "group": "View in Telegram", "user": "Send Message",
           "bot": "Start Bot"}


def render_entity_page(entity: Entity | None, name: str, base_url: str) -> str:
    """The t.me/<name> page; an unknown name gets t.me's generic contact page (title only)."""
    if entity is None:
        title = f"Telegram: Contact @{name}"
        return (_head(title, "", "https://telegram.org/img/t_logo.png")
                + '  <body>\n<div class="tgme_page_wrap">\n  <div class="tgme_body_wrap">\n'
                '    <div class="tgme_page">\n'
                '      <div class="tgme_page_additional">If you have <strong>Telegram</strong>, you can contact '
                f'<a class="tgme_username_link" href="tg://resolve?domain={_esc(name)}">@{_esc(name)}</a> '
                "right away.</div>\n    </div>\n  </div>\n</div>\n  </body>\n</html>\n")
    n = entity.username
    if entity.kind == "channel":
        extra = f"{_spaced(entity.counters.get('subscribers', 0))} subscribers"
    elif entity.kind == "group":
        extra = f"{_spaced(entity.members or 0)} members"
        if entity.online is not None:
            extra += f", {_spaced(entity.online)} online"
    else:
        extra = f"@{n}"
    verb = "View" if entity.kind in ("channel", "group") else "Contact"
    photo_url = _url(entity.photo, base_url)
    photo = (f'      <div class="tgme_page_photo"><a href="tg://resolve?domain={n}">'
             f'<img class="tgme_page_photo_image" src="{_esc(photo_url)}"></a></div>\n' if photo_url else "")
    verified = '<i class="verified-icon"></i>' if entity.verified else ""
    desc = (f'      <div class="tgme_page_description" dir="auto">{_text_html(entity.description)}</div>\n'
            if entity.description else "")
    context = (f'      <div class="tgme_page_context_link_wrap"><a href="/s/{n}" class="tgme_page_context_link">'
               "Preview channel</a></div>\n" if entity.has_preview else "")
    return (_head(f"Telegram: {verb} @{n}", entity.description, photo_url)
            + '  <body>\n<div class="tgme_page_wrap">\n  <div class="tgme_head_wrap"><div class="tgme_head">'
            '<a href="//telegram.org/" class="tgme_head_brand"></a></div></div>\n'
            '  <div class="tgme_body_wrap">\n    <div class="tgme_page">\n'
            + photo
            + f'      <div class="tgme_page_title"><span dir="auto">{_esc(entity.title)}</span>{verified}</div>\n'
            + f'      <div class="tgme_page_extra">{_esc(extra)}</div>\n'
            + desc
            + '      <div class="tgme_page_action"><a class="tgme_action_button_new shine" '
            f'href="tg://resolve?domain={n}">{_ACTION.get(entity.kind, "View in Telegram")}</a></div>\n'
            + context
            + "    </div>\n  </div>\n</div>\n  </body>\n</html>\n")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
                  "gif": "image/gif", "mp4": "video/mp4", "ogg": "audio/ogg", "mp3": "audio/mpeg",
                  "pdf": "application/pdf", "txt": "text/plain"}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class TmeServer:
    """Serve a World on 127.0.0.1 from a background thread; also the fault and admin controls."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0) -> None:
        self.world = world
        self.delay = delay  # seconds before every answer: a far server (the distributed benchmark is I/O-bound)
        self.host = host
        self.port = port
        self.base_url = ""
        self.rendered_at = int(time.time())
        self._lock = threading.Lock()
        self._faults: dict[str, list[dict[str, Any]]] = {}
        self._log: list[dict[str, Any]] = []
        self._log_generation = 0  # bumped by clear_requests: a request received before it is not logged
        self._wrap_cache: dict[tuple[str, int], str] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind (port 0 picks a free port), serve in a daemon thread, return the base URL."""
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False  # keep-alive clients must not block stop()
        httpd.tme = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tme-server", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TmeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # faults ---------------------------------------------------------------------------------
    def add_faults(self, path: str, *faults: dict[str, Any]) -> None:
        """Queue faults for requests whose path (with query) starts with ``path``; each fires once.

        A fault is a dict with any of: ``status`` (+ ``retry_after`` seconds), ``empty`` (the
        "No posts found" page with 200), ``truncate`` (fraction of the body bytes to send),
        ``delay`` (seconds before answering).
        """
        with self._lock:
            self._faults.setdefault(path, []).extend(dict(f) for f in faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {k: list(v) for k, v in self._faults.items() if v}

    def _take_fault(self, target: str) -> dict[str, Any] | None:
        with self._lock:
            matches = [p for p, q in self._faults.items() if q and target.startswith(p)]
            if not matches:
                return None
            return self._faults[max(matches, key=len)].pop(0)

    # world changes --------------------------------------------------------------------------
    def add_post(self, post: Post, files: dict[str, bytes] | None = None) -> None:
        """Add (or replace) a post at run time, so a later sweep sees it."""
        with self._lock:
            entity = self.world.get(post.channel)
            if entity is None:
                raise KeyError(post.channel)
            if post.channel_id is None:
                post.channel_id = entity.id
            ids = [p.id for p in entity.posts]
            at = bisect.bisect_left(ids, post.id)
            if at < len(ids) and ids[at] == post.id:
                entity.posts[at] = post
            else:
                entity.posts.insert(at, post)
            self._wrap_cache.pop((entity.username.lower(), post.id), None)
            self.world.files.update(files or {})

    def delete_post(self, channel: str, post_id: int) -> bool:
        """Remove a post (a takedown): feeds skip it, its embed says "Post not found"."""
        with self._lock:
            entity = self.world.get(channel)
            if entity is None:
                raise KeyError(channel)
            kept = [p for p in entity.posts if p.id != post_id]
            found = len(kept) != len(entity.posts)
            entity.posts[:] = kept
            self._wrap_cache.pop((entity.username.lower(), post_id), None)
            return found

    def embed_page(self, name: str, post_id: int) -> str:
        """t.me/<name>/<id>?embed=1: the post's widget, or t.me's error widget when it is gone."""
        with self._lock:
            entity = self.world.get(name)
            post = next((p for p in entity.posts if p.id == post_id), None) if entity and entity.has_preview else None
            body = (render_post(post, entity, self.base_url, self.rendered_at) if post is not None else
                    '<div class="tgme_widget_message_error">Post not found</div>')
        return ('<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
                f"    <title>Telegram Widget</title>\n  </head>\n  <body class=\"body_widget_post emoji_image\">\n"
                f"{body}\n  </body>\n</html>\n")

    # request log ----------------------------------------------------------------------------
    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Requests served so far (admin calls excluded): dicts of method, path, query, status."""
        with self._lock:
            return [dict(r) for r in self._log if r["path"].startswith(path_prefix)]

    def clear_requests(self) -> None:
        """Forget the log, including requests still being served (a killed client's slow page)."""
        with self._lock:
            self._forget_log()

    def _forget_log(self) -> None:
        """Under the lock: what clearing the log empties (a subclass's own records too)."""
        self._log.clear()
        self._log_generation += 1

    def _record(self, method: str, path: str, query: str, status: int, generation: int) -> None:
        with self._lock:
            if generation == self._log_generation:
                self._log.append({"method": method, "path": path, "query": query, "status": status})

    # pages ----------------------------------------------------------------------------------
    def channel_page(self, name: str, before: int | None, empty: bool = False) -> str:
        with self._lock:
            entity = self.world.get(name)
            assert entity is not None
            posts = entity.posts
            end = bisect.bisect_left([p.id for p in posts], before) if before is not None else len(posts)
            page = [] if empty else posts[max(0, end - self.world.page_size):end]
            has_older = bool(page) and end - len(page) > 0
            wraps = []
            for p in page:
                key = (entity.username.lower(), p.id)
                wrap = self._wrap_cache.get(key)
                if wrap is None:
                    wrap = self._wrap_cache[key] = render_post(p, entity, self.base_url, self.rendered_at)
                wraps.append(wrap)
        return render_channel_page(entity, page, before, has_older, self.base_url, self.rendered_at, wraps)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end instead of holding a thread forever
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    @property
    def tme(self) -> TmeServer:
        return self.server.tme  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None, truncate: float | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if truncate is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate is not None:
            body = body[: int(len(body) * truncate)]
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        generation = self.tme._log_generation  # received before a clear_requests: not the next run's
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        if path.startswith("/__admin/"):
            self._admin(method, path, payload)
            return
        fault = self.tme._take_fault(path + ("?" + query if query else "")) or {}
        if fault.get("delay") or self.tme.delay:
            time.sleep(float(fault.get("delay") or self.tme.delay))
        if "status" in fault:
            status = int(fault["status"])
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            if "location" in fault:  # a redirect, as a hostile mirror would send
                headers["Location"] = str(fault["location"])
            body = f"<html><body><h1>{status}</h1></body></html>".encode()
            self.tme._record(method, path, query, status, generation)
            self._send(status, body, headers=headers, truncate=fault.get("truncate"))
            return
        status, body, ctype, headers = self._route(method, path, query, bool(fault.get("empty")))
        self.tme._record(method, path, query, status, generation)
        self._send(status, body, ctype, headers, truncate=fault.get("truncate"))

    def _route(self, method: str, path: str, query: str,
               empty: bool) -> tuple[int, bytes, str, dict[str, str]]:
        html_type = "text/html; charset=utf-8"
        segments = [s for s in path.split("/") if s]
        world = self.tme.world
        if method not in ("GET", "HEAD"):
            return 405, b"", html_type, {}
        if len(segments) == 2 and segments[0] == "file":
            data = world.files.get(segments[1])
            if data is None:
                return 404, b"Not found", "text/plain", {}
            ext = segments[1].rsplit(".", 1)[-1].lower()
            return 200, data, _CONTENT_TYPES.get(ext, "application/octet-stream"), {}
        if len(segments) == 2 and segments[0] == "s" and _NAME.match(segments[1]):
            name = segments[1]
            entity = world.get(name)
            if entity is None or not entity.has_preview:
                return 302, b"", html_type, {"Location": f"/{name}"}
            before_raw = (parse_qs(query).get("before") or [None])[0]
            before = int(before_raw) if before_raw and before_raw.isdigit() else None
            return 200, self.tme.channel_page(name, before, empty).encode(), html_type, {}
        if len(segments) == 2 and _NAME.match(segments[0]) and segments[1].isdigit():
            return 200, self.tme.embed_page(segments[0], int(segments[1])).encode(), html_type, {}
        if len(segments) == 1 and _NAME.match(segments[0]):
            entity = world.get(segments[0])
            return 200, render_entity_page(entity, segments[0], self.tme.base_url).encode(), html_type, {}
        return 404, b"<html><body>Not found</body></html>", html_type, {}

    def _admin(self, method: str, path: str, payload: bytes) -> None:
        tme = self.tme
        try:
            data = json.loads(payload) if payload else None
            if path == "/__admin/faults":
                if method == "POST":
                    for item in data if isinstance(data, list) else [data]:
                        faults = item.get("faults") or [item["fault"]]
                        tme.add_faults(item["path"], *faults)
                elif method == "DELETE":
                    tme.clear_faults()
                result: Any = tme.pending_faults()
            elif path == "/__admin/posts" and method == "POST":
                files = {}
                if "post" in data:
                    files = {k: base64.b64decode(v) for k, v in (data.get("files") or {}).items()}
                    data = data["post"]
                post = post_from_dict(data)
                if not any(k in data for k in ("links", "mentions", "hashtags")):
                    fill_text_entities(post)
                tme.add_post(post, files)
                result = {"ok": True, "channel": post.channel, "id": post.id}
            elif path == "/__admin/posts" and method == "DELETE":
                found = tme.delete_post(str(data["channel"]), int(data["id"]))
                result = {"ok": True, "deleted": found}
            elif path == "/__admin/requests":
                if method == "DELETE":
                    tme.clear_requests()
                result = tme.requests()
            else:
                self._send(404, b'{"error": "unknown admin path"}', "application/json")
                return
        except KeyError as e:
            self._send(404, json.dumps({"error": f"unknown: {e}"}).encode(), "application/json")
            return
        except (ValueError, TypeError, AttributeError) as e:
            self._send(400, json.dumps({"error": str(e)}).encode(), "application/json")
            return
        self._send(200, json.dumps(result).encode(), "application/json")


# --------------------------------------------------------------------------------------------
# Subprocess mode
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m tgsweep.demo.tme_server --world FILE.json --port 0``: print READY <url>, serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tgsweep.demo.tme_server", description=main.__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--world", help="world JSON written by world_to_json()")
    source.add_argument("--demo", action="store_true", help="serve the bundled synthetic demo corpus")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer (a far server)")
    args = parser.parse_args(argv)
    if args.demo:
        from tgsweep.demo.corpus import build_demo_world
        world = build_demo_world()
    else:
        with open(args.world, encoding="utf-8") as f:
            world = world_from_json(f.read())
    if args.page_size:
        world.page_size = args.page_size
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = TmeServer(world, args.host, args.port, delay=args.delay)
    url = server.start()
    print(f"READY {url}", flush=True)
    while not stop.wait(0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
