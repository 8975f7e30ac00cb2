"""Telethon objects -> the records every collector produces (store/records.py). Pure.

No client, no network, no database: Telethon `Message`/`Channel`/`User` objects and the
results of the Full requests in, `Post` records and plain profile dicts out. The web
collector and this one produce the same records, so the store, detectors and exports never
see Telethon types; what only the API has (numeric forward sources, callback and web-app
buttons, hidden text links and mentions, forwards and reply counts, albums' grouped_id,
restriction reasons) goes into the records' optional fields and `Post.extra`.

Also here: `capture_bytes` (the raw `to_dict()` JSON kept as evidence, Telethon's own JSON
encoding) and `tl_from_dict`, its inverse, which rebuilds Telethon objects from such dumps
(the evidence can be re-mapped later; the tests rebuild real dumps with it).

Albums: Telethon returns one message per album item; the web preview shows one post whose id
is the first item's id, with each item's own id on its media. `map_messages` groups
consecutive items of one `grouped_id` the same way, so both collectors store one post.
"""
from __future__ import annotations

import ast
import base64
import inspect
import json
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from telethon import helpers, utils
from telethon.tl import TLObject, types
from telethon.tl.tlobject import _json_default

from store.records import Button, Forward, LinkPreview, MediaItem, Poll, Post, Reaction, Reply
from store.tme_links import parse_tme_link

__all__ = ["map_message", "map_messages", "channel_profile", "bot_profile", "user_kind", "channel_kind",
           "capture_bytes", "tl_from_dict", "media_url", "marked_id", "known_entities"]

_SERVICE_TEXT = {
    "MessageActionChannelCreate": "Channel created",
    "MessageActionChatCreate": "Group created",
    "MessageActionChatEditPhoto": "Channel photo updated",
    "MessageActionChatDeletePhoto": "Channel photo removed",
    "MessageActionPinMessage": "pinned a message",
    "MessageActionHistoryClear": "History cleared",
    "MessageActionGroupCall": "Live stream",
    "MessageActionGroupCallScheduled": "Live stream scheduled",
}
_BUTTON_KINDS = {
    "url": "url", "callback": "callback", "webview": "web_app", "simplewebview": "web_app",
    "switchinline": "switch_inline", "urlauth": "login_url", "userprofile": "user_profile", "copy": "copy",
    "buy": "buy", "game": "game", "requestphone": "request_phone", "requestgeolocation": "request_location",
    "requestpoll": "request_poll", "requestpeer": "request_peer", "": "text",
}


# -- small helpers ------------------------------------------------------------------------------

def marked_id(peer: Any) -> int | None:
    """Telethon's marked peer id (channels -100...), the key of its entity maps."""
    if peer is None:
        return None
    try:
        return utils.get_peer_id(peer)
    except (TypeError, ValueError):
        return None


def _bare_id(peer: Any) -> int | None:
    for attr in ("channel_id", "user_id", "chat_id"):
        value = getattr(peer, attr, None)
        if value is not None:
            return value
    return None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # Telethon dates are UTC
    return value.astimezone(timezone.utc).isoformat()


def _username(entity: Any) -> str | None:
    name = getattr(entity, "username", None)
    if not name:
        for alias in getattr(entity, "usernames", None) or []:
            if getattr(alias, "active", False) or name is None:
                name = alias.username
    return name.lower() if name else None


def _display_name(entity: Any) -> str | None:
    if entity is None:
        return None
    title = getattr(entity, "title", None)
    if title:
        return title
    parts = [getattr(entity, "first_name", None), getattr(entity, "last_name", None)]
    return " ".join(p for p in parts if p) or None


def _text(value: Any) -> str:
    """Plain text of a str or a TextWithEntities (newer layers use it for poll questions)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else getattr(value, "text", "") or ""


def media_url(channel: str, msg_id: int, role: str, kind: str, file_id: Any) -> str:
    """A stable name for one file of one message (custody log, media_items.url); never fetched over HTTP."""
    return f"tg://{channel}/{msg_id}?{role}={kind}&id={file_id}"


def known_entities(msg: Any) -> dict[int, Any]:
    """The entities Telethon attached to a message (via bot, forward source, sender), by marked id."""
    found: dict[int, Any] = {}
    for entity in (getattr(msg, "_via_bot", None), getattr(msg, "_sender", None), getattr(msg, "_chat", None)):
        if entity is not None and getattr(entity, "id", None) is not None:
            found[utils.get_peer_id(entity)] = entity
    fwd = getattr(msg, "_forward", None)
    for entity in (getattr(fwd, "_chat", None), getattr(fwd, "_sender", None)):
        if entity is not None and getattr(entity, "id", None) is not None:
            found[utils.get_peer_id(entity)] = entity
    return found


# -- messages -----------------------------------------------------------------------------------

def map_message(msg: Any, channel: str, entities: Mapping[int, Any] | None = None) -> Post:
    """One Telethon message as a Post of `channel` (username, lower case)."""
    known = dict(known_entities(msg))
    known.update(entities or {})
    post = Post(channel=channel.lower(), id=msg.id, date=_iso(getattr(msg, "date", None)), source="telethon",
                channel_id=_bare_id(getattr(msg, "peer_id", None)))
    if isinstance(msg, types.MessageEmpty):
        post.service = ""
        return post
    if isinstance(msg, types.MessageService):
        post.service = _service_text(msg.action)
        photo = getattr(msg.action, "photo", None)
        if isinstance(photo, types.Photo):
            post.media.append(_photo_item(post.channel, msg.id, photo))
        return post
    post.text = msg.message or ""
    post.views = msg.views
    post.edited = bool(msg.edit_date) and not msg.edit_hide
    post.author = msg.post_author
    _entities(post, msg, known)
    post.forwarded_from = _forward(msg.fwd_from, known)
    post.reply_to = _reply(msg.reply_to, post.channel, known)
    if msg.via_bot_id:
        post.extra["via_bot_id"] = msg.via_bot_id
        bot = known.get(msg.via_bot_id)
        post.via_bot = _username(bot) if bot is not None else None
    post.buttons = _buttons(msg.reply_markup)
    _media(post, msg)
    if msg.reactions is not None:
        post.reactions = [_reaction(r) for r in msg.reactions.results]
    if msg.forwards is not None:
        post.extra["forwards"] = msg.forwards
    if msg.replies is not None:
        post.extra["replies"] = msg.replies.replies
        if msg.replies.channel_id:
            post.extra["discussion_channel_id"] = msg.replies.channel_id
    if msg.grouped_id:
        post.extra["grouped_id"] = msg.grouped_id
    if msg.restriction_reason:
        post.extra["restriction_reason"] = [
            {"platform": r.platform, "reason": r.reason, "text": r.text} for r in msg.restriction_reason]
    if msg.edit_date:
        post.extra["edit_date"] = _iso(msg.edit_date)
    return post


def map_messages(messages: Iterable[Any], channel: str, entities: Mapping[int, Any] | None = None) -> list[Post]:
    """Messages (any order) -> Posts in id order, album items merged into one post as the web shows it."""
    posts: list[Post] = []
    group: list[Post] = []
    for msg in sorted(messages, key=lambda m: m.id):
        post = map_message(msg, channel, entities)
        grouped = post.extra.get("grouped_id")
        if group and (grouped is None or grouped != group[0].extra.get("grouped_id")):
            posts.append(merge_album(group))
            group = []
        if grouped is not None:
            group.append(post)
        else:
            posts.append(post)
    if group:
        posts.append(merge_album(group))
    return posts


def merge_album(items: list[Post]) -> Post:
    """Album items (one grouped_id) -> one post with the first item's id, each media item naming its own id."""
    if len(items) == 1:
        return items[0]
    first = items[0]
    caption = next((p for p in items if p.text), first)
    post = Post(channel=first.channel, id=first.id, date=first.date, text=caption.text, links=caption.links,
                mentions=caption.mentions, hashtags=caption.hashtags, views=caption.views or first.views,
                edited=any(p.edited for p in items), author=first.author, forwarded_from=first.forwarded_from,
                reply_to=first.reply_to, via_bot=first.via_bot, buttons=caption.buttons or first.buttons,
                reactions=caption.reactions or first.reactions, channel_id=first.channel_id, source="telethon",
                extra=dict(caption.extra))
    for item in items:
        for m in item.media:
            if m.kind != "link_preview_photo":
                m.post_id = item.id
            post.media.append(m)
    post.extra["album_ids"] = [p.id for p in items]
    return post


def _service_text(action: Any) -> str:
    name = type(action).__name__
    if name in _SERVICE_TEXT:
        return _SERVICE_TEXT[name]
    if isinstance(action, types.MessageActionChatEditTitle):
        return f"Channel name was changed to «{action.title}»"
    words = name.removeprefix("MessageAction")
    return "".join(" " + c.lower() if c.isupper() else c for c in words).strip()


def _slice(text: str, offset: int, length: int) -> str:
    """Entity offsets count UTF-16 code units."""
    return helpers.del_surrogate(helpers.add_surrogate(text)[offset:offset + length])


def _entities(post: Post, msg: Any, known: Mapping[int, Any]) -> None:
    """Links, mentions and hashtags, including those hidden behind text (text URLs, mentions by id)."""
    text = msg.message or ""
    links: list[str] = []
    mentions: list[str] = []
    hashtags: list[str] = []
    text_urls: list[list[str]] = []
    hidden_mentions: list[dict[str, Any]] = []
    for e in msg.entities or []:
        shown = _slice(text, e.offset, e.length)
        if isinstance(e, types.MessageEntityUrl):
            links.append(shown if "://" in shown else f"http://{shown}")
        elif isinstance(e, types.MessageEntityTextUrl):
            links.append(e.url)
            text_urls.append([shown, e.url])
        elif isinstance(e, types.MessageEntityMention):
            mentions.append(shown.lstrip("@").lower())
        elif isinstance(e, (types.MessageEntityMentionName, types.InputMessageEntityMentionName)):
            user_id = getattr(e, "user_id", None)
            user_id = user_id if isinstance(user_id, int) else _bare_id(user_id)
            user = known.get(user_id) if user_id is not None else None
            name = _username(user) if user is not None else None
            hidden_mentions.append({"text": shown, "user_id": user_id, "username": name})
            if name:
                mentions.append(name)
        elif isinstance(e, types.MessageEntityHashtag):
            hashtags.append(shown.lstrip("#"))
        elif isinstance(e, types.MessageEntityBotCommand) and "@" in shown:
            mentions.append(shown.split("@", 1)[1].lower())
    for url in links:  # as the web parser does: usernames named by t.me links are mentions too
        link = parse_tme_link(url)
        if link is not None and not link.start_kind:
            mentions.append(link.username)
    post.links = list(dict.fromkeys(links))
    post.mentions = list(dict.fromkeys(mentions))
    post.hashtags = list(dict.fromkeys(hashtags))
    if text_urls:
        post.extra["text_links"] = text_urls
    if hidden_mentions:
        post.extra["mention_names"] = hidden_mentions


def _forward(fwd: Any, known: Mapping[int, Any]) -> Forward | None:
    if fwd is None:
        return None
    out = Forward(name=fwd.from_name, post=fwd.channel_post)
    peer = fwd.from_id
    if peer is None:  # a user who hides their account in forwards: only the name is shown
        return out
    source = known.get(marked_id(peer))
    if isinstance(peer, types.PeerChannel):
        out.channel_id = peer.channel_id
    elif isinstance(peer, types.PeerUser):
        out.user_id = peer.user_id
    elif isinstance(peer, types.PeerChat):
        out.channel_id = peer.chat_id
    username = _username(source) if source is not None else None
    out.channel = username
    out.name = out.name or _display_name(source)
    if username:
        out.url = f"https://t.me/{username}" + (f"/{fwd.channel_post}" if fwd.channel_post else "")
    return out


def _reply(reply: Any, channel: str, known: Mapping[int, Any]) -> Reply | None:
    if not isinstance(reply, types.MessageReplyHeader) or reply.reply_to_msg_id is None:
        return None
    target = channel
    if reply.reply_to_peer_id is not None:
        entity = known.get(marked_id(reply.reply_to_peer_id))
        target = _username(entity) if entity is not None else None
    return Reply(channel=target, post=reply.reply_to_msg_id, text=reply.quote_text)


def _button_kind(button: Any) -> str:
    typed = getattr(button, "type", None)
    name = type(typed).__name__ if typed is not None and not isinstance(typed, str) else type(button).__name__
    for prefix in ("InlineButtonType", "ButtonType", "KeyboardButton"):
        name = name.removeprefix(prefix)
    return _BUTTON_KINDS.get(name.lower(), name.lower())


def _buttons(markup: Any) -> list[Button]:
    """Every button of an inline or reply keyboard: URL, callback, web app, switch-inline, ... (never pressed)."""
    out: list[Button] = []
    for row in getattr(markup, "rows", None) or []:
        for button in row.buttons:
            typed = getattr(button, "type", None)
            source = typed if typed is not None and not isinstance(typed, str) else button
            kind = _button_kind(button)
            url = getattr(source, "url", None)
            data: str | None = None
            raw = getattr(source, "data", None)
            if isinstance(raw, bytes):
                data = base64.b64encode(raw).decode("ascii")
            elif getattr(source, "query", None) is not None:
                data = source.query
            elif getattr(source, "user_id", None) is not None:
                data = str(_bare_id(source.user_id) if not isinstance(source.user_id, int) else source.user_id)
            elif getattr(source, "copy_text", None) is not None:
                data = source.copy_text
            out.append(Button(text=button.text, url=url, kind=kind, data=data))
    return out


def _reaction(count: Any) -> Reaction:
    r = count.reaction
    if isinstance(r, types.ReactionEmoji):
        emoji = r.emoticon
    elif isinstance(r, types.ReactionCustomEmoji):
        emoji = f"custom:{r.document_id}"
    elif type(r).__name__ == "ReactionPaid":
        emoji = "paid"
    else:
        emoji = type(r).__name__
    return Reaction(emoji=emoji, count=count.count)


# -- media --------------------------------------------------------------------------------------

def _largest(sizes: list[Any]) -> Any | None:
    real = [s for s in sizes or [] if isinstance(s, (types.PhotoSize, types.PhotoSizeProgressive))]
    return max(real, key=lambda s: s.w * s.h, default=None)


def _photo_item(channel: str, msg_id: int, photo: Any, kind: str = "photo") -> MediaItem:
    size = _largest(photo.sizes)
    return MediaItem(kind=kind, url=media_url(channel, msg_id, "media", kind, photo.id),
                     width=getattr(size, "w", None), height=getattr(size, "h", None))


def _document_item(channel: str, msg_id: int, doc: Any, post: Post) -> MediaItem:
    kind, duration, width, height, title = "document", None, None, None, None
    for attr in doc.attributes:
        if isinstance(attr, types.DocumentAttributeSticker):
            kind = "sticker"
            post.sticker = True
        elif isinstance(attr, types.DocumentAttributeAnimated) and kind != "sticker":
            kind = "gif"
        elif isinstance(attr, types.DocumentAttributeVideo):
            if kind not in ("sticker", "gif"):
                kind = "round_video" if attr.round_message else "video"
            duration, width, height = int(attr.duration), attr.w, attr.h
        elif isinstance(attr, types.DocumentAttributeAudio):
            kind = "voice" if attr.voice else "audio"
            duration, title = attr.duration, attr.title or title
        elif isinstance(attr, types.DocumentAttributeFilename):
            title = title or attr.file_name
        elif isinstance(attr, types.DocumentAttributeImageSize):
            width, height = attr.w, attr.h
    thumb = media_url(channel, msg_id, "thumb", kind, doc.id) if doc.thumbs else None
    return MediaItem(kind=kind, url=media_url(channel, msg_id, "media", kind, doc.id), thumb_url=thumb,
                     duration=duration, width=width, height=height, title=title)


def _media(post: Post, msg: Any) -> None:
    media = msg.media
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return
    post.extra["media_size"] = [size_of(media)]
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        post.media.append(_photo_item(post.channel, msg.id, media.photo))
    elif isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        post.media.append(_document_item(post.channel, msg.id, media.document, post))
    elif isinstance(media, types.MessageMediaWebPage) and isinstance(media.webpage, types.WebPage):
        page = media.webpage
        post.link_preview = LinkPreview(url=page.url, site_name=page.site_name, title=page.title,
                                        description=page.description)
        if isinstance(page.photo, types.Photo):
            item = _photo_item(post.channel, msg.id, page.photo, "link_preview_photo")
            post.link_preview.image_url = item.url
            post.media.append(item)
    elif isinstance(media, types.MessageMediaPoll):
        post.poll = _poll(media)
    elif isinstance(media, (types.MessageMediaGeo, types.MessageMediaVenue, types.MessageMediaGeoLive)):
        geo = media.geo
        url = f"https://maps.google.com/maps?q={geo.lat},{geo.long}" if hasattr(geo, "lat") else None
        post.media.append(MediaItem(kind="location", url=url))
    elif isinstance(media, types.MessageMediaUnsupported):
        post.unsupported = True
    else:
        post.extra["media_type"] = type(media).__name__


def size_of(media: Any) -> int | None:
    """Bytes of the message's main file (documents say so; photos: their largest size)."""
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return media.document.size
    photo = getattr(media, "photo", None) or getattr(getattr(media, "webpage", None), "photo", None)
    if isinstance(photo, types.Photo):
        size = _largest(photo.sizes)
        if isinstance(size, types.PhotoSizeProgressive):
            return max(size.sizes)
        return getattr(size, "size", None)
    return None


def _poll(media: Any) -> Poll:
    poll = media.poll
    results = media.results
    voters = {r.option: r.voters for r in (getattr(results, "results", None) or [])}
    total = getattr(results, "total_voters", None)
    options = []
    for answer in poll.answers:
        count = voters.get(answer.option)
        percent = round(100 * count / total) if total and count is not None else None
        options.append((_text(answer.text), percent))
    kind = ("quiz" if poll.quiz else "poll") if poll.public_voters else ("anonymous quiz" if poll.quiz else
                                                                         "anonymous poll")
    return Poll(question=_text(poll.question), kind=kind, options=options, votes=total)


# -- profiles -----------------------------------------------------------------------------------

def user_kind(user: Any) -> str:
    """bot, user or unknown, from a User object."""
    if user is None:
        return "unknown"
    return "bot" if getattr(user, "bot", False) else "user"


def channel_kind(channel: Any) -> str:
    """group (megagroup, gigagroup) or channel, from a Channel object."""
    return "group" if getattr(channel, "megagroup", False) or getattr(channel, "gigagroup", False) else "channel"


def bot_profile(full: Any) -> dict[str, Any]:
    """users.UserFull (GetFullUserRequest) -> the bot profile the classifier reads, plus the API-only facts."""
    user_full = full.full_user
    user = next((u for u in full.users if u.id == user_full.id), None)
    info = user_full.bot_info
    commands = [{"command": c.command, "description": c.description} for c in (getattr(info, "commands", None) or [])]
    return {
        "username": _username(user), "id": user_full.id, "kind": user_kind(user), "bot": bool(getattr(user, "bot", False)),
        "title": _display_name(user), "name": _display_name(user),
        "description": getattr(info, "description", None) or "", "about": user_full.about or "",
        "commands": commands, "bot_active_users": getattr(user, "bot_active_users", None),
        "bot_info_version": getattr(user, "bot_info_version", None),
        "verified": bool(getattr(user, "verified", False)), "scam": bool(getattr(user, "scam", False)),
        "fake": bool(getattr(user, "fake", False)), "restricted": bool(getattr(user, "restricted", False)),
        "restriction_reason": [{"platform": r.platform, "reason": r.reason, "text": r.text}
                               for r in (getattr(user, "restriction_reason", None) or [])],
        "usernames": [u.username.lower() for u in (getattr(user, "usernames", None) or [])],
        "privacy_policy_url": getattr(info, "privacy_policy_url", None), "source": "telethon",
    }


def channel_profile(full: Any) -> dict[str, Any]:
    """messages.ChatFull (GetFullChannelRequest) -> about, participants, linked chat, bots in the chat."""
    chat_full = full.full_chat
    chats = {c.id: c for c in full.chats}
    users = {u.id: u for u in full.users}
    channel = chats.get(chat_full.id)
    linked = chats.get(chat_full.linked_chat_id) if chat_full.linked_chat_id else None
    bots = []
    for info in chat_full.bot_info or []:
        user = users.get(info.user_id)
        bots.append({"id": info.user_id, "username": _username(user), "title": _display_name(user),
                     "description": info.description or "",
                     "commands": [{"command": c.command, "description": c.description} for c in info.commands or []]})
    return {
        "id": chat_full.id, "username": _username(channel), "kind": channel_kind(channel), "title": getattr(channel, "title", None),
        "about": chat_full.about or "", "participants_count": chat_full.participants_count,
        "linked_chat_id": chat_full.linked_chat_id, "linked_chat": _username(linked) if linked else None,
        "verified": bool(getattr(channel, "verified", False)), "scam": bool(getattr(channel, "scam", False)),
        "fake": bool(getattr(channel, "fake", False)), "restricted": bool(getattr(channel, "restricted", False)),
        "restriction_reason": [{"platform": r.platform, "reason": r.reason, "text": r.text}
                               for r in (getattr(channel, "restriction_reason", None) or [])],
        "bots": bots, "source": "telethon",
    }


# -- evidence -----------------------------------------------------------------------------------

def capture_bytes(request: str, target: str, objects: Iterable[Any]) -> bytes:
    """The raw capture of one API answer: `to_dict()` of every object, Telethon's JSON encoding."""
    body = {"request": request, "target": target,
            "objects": [o.to_dict() if isinstance(o, TLObject) else o for o in objects]}
    return json.dumps(body, default=_json_default, ensure_ascii=False, sort_keys=False).encode("utf-8")


def _classes() -> dict[str, list[type]]:
    found: dict[str, list[type]] = {}
    modules = [types] + [getattr(types, n) for n in dir(types) if inspect.ismodule(getattr(types, n))]
    for module in modules:
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, TLObject) and hasattr(cls, "CONSTRUCTOR_ID"):
                found.setdefault(name, []).append(cls)
    return found


_CLASSES: dict[str, list[type]] | None = None


def _decode_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        return bytes(value)
    if isinstance(value, str) and value[:2] in ("b'", 'b"'):
        return ast.literal_eval(value)  # str(bytes) as some dumpers (telegram-tracker) write it
    return base64.b64decode(value)


def _decode_date(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def tl_from_dict(data: Any) -> Any:
    """A `to_dict()` dump (or its JSON) back into Telethon objects; dates and bytes restored by the signature."""
    global _CLASSES
    if isinstance(data, list):
        return [tl_from_dict(v) for v in data]
    if not isinstance(data, dict) or "_" not in data:
        return data
    if _CLASSES is None:
        _CLASSES = _classes()
    keys = set(data) - {"_"}
    candidates = _CLASSES.get(data["_"])
    if not candidates:
        raise ValueError(f"unknown Telethon type {data['_']!r}")
    cls = max(candidates, key=lambda c: len(keys & set(inspect.signature(c.__init__).parameters)))
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    kwargs = {}
    for name, param in params.items():
        if name == "self" or name not in data:
            continue
        value, hint = data[name], str(param.annotation)
        if value is None:
            kwargs[name] = None
        elif "datetime" in hint:
            kwargs[name] = _decode_date(value)
        elif "bytes" in hint and "List" not in hint:
            kwargs[name] = _decode_bytes(value)
        elif "List[bytes]" in hint:
            kwargs[name] = [_decode_bytes(v) for v in value]
        else:
            kwargs[name] = tl_from_dict(value)
    for name, param in params.items():  # required fields the dump lacks (newer layer): their empty value
        if name != "self" and name not in kwargs and param.default is inspect.Parameter.empty:
            kwargs[name] = None
    return cls(**kwargs)
