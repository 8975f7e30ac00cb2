"""Mirror detection: which bot replaces which (banned) bot, and what shows it. Pure.

Operators whose bot is banned announce a replacement ("@old was banned, new mirror: @new"),
keep handing out the same referral start code with the new bot, or say so in the new bot's
profile. Each gives a `mirror_of` edge (new -> old) with evidence a person can check.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from detectors.bot_classifier import Model, default_model, find_signals

_MENTION = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})")
_OFFICIAL_AFFILIATE = "_tgr_"  # Telegram's own affiliate codes are not an operator's referral code


@dataclass(frozen=True, slots=True)
class Mirror:
    bot: str  # the new bot
    predecessor: str  # the bot it replaces
    kind: str  # notice, referral, profile
    evidence: str


@dataclass(frozen=True, slots=True)
class PromoPost:
    """A post that references bots, as the store has it."""

    channel: str
    id: int
    date: str | None
    text: str
    refs: tuple[tuple[str, str, str], ...]  # (bot, how, param)
    forwarded: bool = False  # a forward repeats its original's codes: no evidence of when a code was used


def _mirror_langs(text: str, model: Model) -> list[str]:
    places = find_signals({"description": text}, model).get("mirror_notice", [])
    return list(dict.fromkeys(lang for _, lang in places))


def _is_referral_code(param: str) -> bool:
    """Codes that identify someone (a digit in them, at least 4 characters), not "start" or "menu"."""
    return len(param) >= 4 and any(c.isdigit() for c in param) and not param.startswith(_OFFICIAL_AFFILIATE)


def _when(post: PromoPost) -> tuple:
    try:
        return (datetime.fromisoformat(post.date).timestamp() if post.date else float("inf"), post.channel, post.id)
    except ValueError:
        return (float("inf"), post.channel, post.id)


def notice_mirrors(posts: list[PromoPost], model: Model | None = None) -> list[Mirror]:
    """A post in mirror-notice words that names exactly two bots: the first named is the old one."""
    model = model or default_model()
    out = []
    for post in posts:
        bots = list(dict.fromkeys(r[0] for r in post.refs))
        if len(bots) != 2:
            continue  # one bot is no replacement; three or more is a list of working bots
        langs = _mirror_langs(post.text, model)
        if not langs:
            continue
        lowered = post.text.lower()
        first_at = {b: (lowered.find("@" + b) if "@" + b in lowered else lowered.find(b)) for b in bots}
        old, new = sorted(bots, key=lambda b: first_at[b] if first_at[b] >= 0 else len(lowered) + 1)
        out.append(Mirror(new, old, "notice",
                          f"post {post.channel}/{post.id} announces @{new} in place of @{old} ({'/'.join(langs)})"))
    return out


class ReferralSpans:
    """Per referral code and bot, the first and the last post using it: all a move needs.

    Fed one post at a time, it keeps two posts per (code, bot), not every post, so the detect
    stage can stream a million references through it.
    """

    def __init__(self) -> None:
        self.spans: dict[str, dict[str, tuple[tuple, PromoPost, tuple, PromoPost]]] = {}

    def add(self, post: PromoPost) -> None:
        if post.forwarded:
            return
        when = _when(post)
        for bot, _how, param in post.refs:
            if not (param and _is_referral_code(param)):
                continue
            by_bot = self.spans.setdefault(param, {})
            span = by_bot.get(bot)
            if span is None:
                by_bot[bot] = (when, post, when, post)
            else:
                first, first_post, last, last_post = span
                if when < first:
                    first, first_post = when, post
                if when > last:
                    last, last_post = when, post
                by_bot[bot] = (first, first_post, last, last_post)

    def mirrors(self) -> list[Mirror]:
        out = []
        for param, by_bot in self.spans.items():
            if len(by_bot) < 2:
                continue
            spans = sorted(((first, last, bot, first_post, last_post)
                            for bot, (first, first_post, last, last_post) in by_bot.items()), key=lambda s: s[0])
            for (_, last_a, old, _, before), (first_b, _, new, after, _) in zip(spans, spans[1:]):
                if last_a >= first_b:
                    continue  # used with both at once: a shared code, not a move
                out.append(Mirror(new, old, "referral",
                                  f"referral code {param!r} moved from @{old} ({before.channel}/{before.id}) "
                                  f"to @{new} ({after.channel}/{after.id})"))
        return out


def referral_mirrors(posts: Iterable[PromoPost]) -> list[Mirror]:
    """The same referral start code used with one bot, then (never again with it) with another."""
    spans = ReferralSpans()
    for post in posts:
        spans.add(post)
    return spans.mirrors()


def profile_mirrors(profiles: dict[str, str], model: Model | None = None) -> list[Mirror]:
    """A bot whose own profile, in mirror-notice words, names another bot as the old one."""
    model = model or default_model()
    out = []
    for bot, text in profiles.items():
        if not text:
            continue
        named = [m.lower() for m in _MENTION.findall(text) if m.lower() != bot and m.lower().endswith("bot")]
        langs = _mirror_langs(text, model) if named else []
        for old in dict.fromkeys(named) if langs else ():
            out.append(Mirror(bot, old, "profile",
                              f"the profile of @{bot} names @{old} as the bot it replaces ({'/'.join(langs)})"))
    return out


class MirrorFinder:
    """find_mirrors fed one post at a time (the detect stage streams them from the store)."""

    def __init__(self, model: Model | None = None) -> None:
        self.model = model or default_model()
        self.notices: list[Mirror] = []
        self.spans = ReferralSpans()

    def add(self, post: PromoPost) -> None:
        self.notices += notice_mirrors([post], self.model)  # only posts naming exactly two bots
        self.spans.add(post)

    def mirrors(self, profiles: dict[str, str] | None = None) -> list[Mirror]:
        found = self.notices + self.spans.mirrors() + profile_mirrors(profiles or {}, self.model)
        return [m for m in dict.fromkeys(found) if m.bot != m.predecessor]


def find_mirrors(posts: Iterable[PromoPost], profiles: dict[str, str] | None = None,
                 model: Model | None = None) -> list[Mirror]:
    """Every mirror_of edge the posts and profiles show, deduplicated.

    One pass over `posts`, which may be a generator: memory grows with the mirrors and the
    distinct (referral code, bot) pairs, not with the posts.
    """
    finder = MirrorFinder(model)
    for post in posts:
        finder.add(post)
    return finder.mirrors(profiles)


def posts_from_rows(rows: list[Any]) -> list[PromoPost]:
    """(channel, id, date, text, bot, how, param[, forwarded]) rows -> one PromoPost per post."""
    posts: dict[tuple[str, int], tuple[str | None, str, list, bool]] = {}
    for channel, post_id, date, text, bot, how, param, *rest in rows:
        entry = posts.setdefault((channel, post_id), (date, text or "", [], bool(rest and rest[0])))
        entry[2].append((bot, how, param or ""))
    return [PromoPost(c, i, d, t, tuple(refs), fwd) for (c, i), (d, t, refs, fwd) in posts.items()]
