"""Channels a post points at (forwards, t.me links, @mentions): the leads for discovery."""
from __future__ import annotations

from dataclasses import dataclass

from crawler.records import Post
from crawler.tme_links import is_bot_username, parse_tme_link


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
