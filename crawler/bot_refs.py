"""Every way a post points at a bot: mention, link, deep link, button, via."""
from __future__ import annotations

from dataclasses import dataclass

from crawler.records import Post
from crawler.tme_links import is_bot_username, parse_tme_link

AD_KIND = "ad_text"  # not read off the page: the detect stage finds that a post's words advertise the bot
# how a post promotes a bot: "mention" and "link" only name it, unless its words advertise the bot (AD_KIND)
PROMOTION_KINDS = ("deep_link", "button", "via", AD_KIND)


@dataclass(frozen=True, slots=True)
class BotRef:
    username: str  # lower case
    how: str  # mention, link, deep_link, button, via
    param: str | None = None  # start parameter of a deep link (referral codes are a signal)


def bot_refs(post: Post) -> list[BotRef]:
    """Bot candidates referenced by a post, deduplicated, in the order they appear."""
    refs: list[BotRef] = []
    if post.via_bot:
        refs.append(BotRef(post.via_bot.lower(), "via"))
    for name in post.mentions:
        if is_bot_username(name):
            refs.append(BotRef(name.lower(), "mention"))
    for url, how in [(u, "link") for u in post.links] + [(b.url, "button") for b in post.buttons if b.url]:
        link = parse_tme_link(url)
        if link is None:
            continue
        if link.start_kind:
            refs.append(BotRef(link.username, "deep_link" if how == "link" else how, link.start_param))
        elif is_bot_username(link.username):
            refs.append(BotRef(link.username, how))
    return list(dict.fromkeys(refs))
