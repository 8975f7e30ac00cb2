"""What a post points at, derived from the record: bots (mention, link, deep link, button, via) and
channels (forwards, t.me links, @mentions: the leads for discovery). The store indexes both."""
from __future__ import annotations

from dataclasses import dataclass

from store.records import Post
from store.tme_links import is_bot_username, parse_tme_link

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




@dataclass(frozen=True, slots=True)
class ChannelRef:
    username: str  # lower case
    how: str  # forward, link, mention
    post: int | None = None  # the referenced post, where the reference names one


def channel_refs(post: Post) -> list[ChannelRef]:
    """Public usernames a post refers to that may be channels (bots and itself excluded)."""
    refs: list[ChannelRef] = []
    fwd = post.forwarded_from
    if fwd and fwd.channel:
        refs.append(ChannelRef(fwd.channel.lower(), "forward", fwd.post))
    for url in post.links:
        link = parse_tme_link(url)
        if link and not link.start_kind:
            refs.append(ChannelRef(link.username, "link", link.post))
    for name in post.mentions:
        refs.append(ChannelRef(name.lower(), "mention"))
    own = post.channel.lower()
    seen: dict[str, ChannelRef] = {}
    for ref in refs:
        if ref.username != own and not is_bot_username(ref.username) and ref.username not in seen:
            seen[ref.username] = ref
    return list(seen.values())
