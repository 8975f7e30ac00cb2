"""Reading t.me links: which public username a link names, which post, which start parameter."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

_HOSTS = {"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
# Paths under t.me that are not usernames.
_RESERVED = {"s", "c", "joinchat", "addstickers", "addemoji", "share", "proxy", "socks",
             "setlanguage", "addtheme", "login", "iv", "bg", "invoice", "boost", "contact",
             "addlist", "m", "k", "a", "z", "i", "dl", "apps", "blog", "faq"}
START_PARAMS = ("start", "startgroup", "startapp", "startchannel")


@dataclass(frozen=True, slots=True)
class TmeLink:
    username: str  # lower case
    post: int | None = None
    start_kind: str | None = None  # start, startgroup, startapp, startchannel
    start_param: str | None = None


@lru_cache(maxsize=65536)  # the same links recur across posts and are read by several stages
def parse_tme_link(url: str) -> TmeLink | None:
    """https://t.me/name, /name/123, /s/name, /name?start=x, tg://resolve?domain=name -> TmeLink."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    query = parse_qs(parts.query)
    if parts.scheme == "tg":
        name = (query.get("domain") or [""])[0]
        path_post = (query.get("post") or [""])[0]
        segments = [name] + ([path_post] if path_post else [])
    elif parts.netloc.lower() in _HOSTS or parts.netloc.lower().endswith(".t.me"):
        segments = [s for s in parts.path.split("/") if s]
        if parts.netloc.lower().endswith(".t.me") and parts.netloc.lower() not in _HOSTS:
            segments = [parts.netloc.split(".")[0]] + segments  # name.t.me
        if segments and segments[0] == "s":
            segments = segments[1:]
    else:
        return None
    if not segments or segments[0].lower() in _RESERVED or not _NAME.match(segments[0]):
        return None
    post = int(segments[1]) if len(segments) > 1 and segments[1].isdigit() else None
    for kind in START_PARAMS:
        if kind in query:
            return TmeLink(segments[0].lower(), post, kind, query[kind][0] or None)
    return TmeLink(segments[0].lower(), post)


def is_bot_username(username: str) -> bool:
    """Telegram requires bot usernames to end in "bot": a candidate until a profile confirms."""
    return username.lower().endswith("bot")
