"""The detect stage's reads of bot references, in bounded memory.

Loading every `bot_refs JOIN posts` row at once costs memory in proportion to the references
(a million references: every post text, once per bot it names). Instead promotions are read a
chunk of bots at a time, at most `[bots] max_promotions` newest texts per bot (SQLite picks
them with a window function), and mirrors are found in one streamed pass over the references
in primary-key order (no sort), one post in memory at a time.
"""
from __future__ import annotations

from typing import Any, AsyncIterator

from detectors.bots.classifier import Model, default_model, find_signals
from detectors.bots.mirrors import Mirror, MirrorFinder, PromoPost
from store.bots import BotsStore
from store.refs import PROMOTION_KINDS

CHUNK_BOTS = 500
FETCH_ROWS = 2000


class Promotions:
    """The texts of the newest posts advertising each bot, fetched for CHUNK_BOTS bots at a time.

    Ask in the order of `usernames` (as the stage scores them): each chunk is read once and
    dropped when the next one is needed.
    """

    def __init__(self, store: BotsStore, usernames: list[str], max_promotions: int, chunk: int = CHUNK_BOTS):
        self.store, self.max = store, max_promotions
        self.chunks = [usernames[i:i + chunk] for i in range(0, len(usernames), chunk)]
        self.chunk_of = {u: n for n, names in enumerate(self.chunks) for u in names}
        self.loaded: int | None = None
        self.texts: dict[str, list[str]] = {}

    async def of(self, username: str) -> list[str]:
        number = self.chunk_of.get(username)
        if number is None or self.max <= 0:
            return []
        if number != self.loaded:
            self.texts = await self._load(self.chunks[number])
            self.loaded = number
        return self.texts.get(username, [])

    async def _load(self, names: list[str]) -> dict[str, list[str]]:
        rows = await self.store.promotion_texts(names, self.max)
        out: dict[str, list[str]] = {}
        for bot, text, named in rows:
            passage = passage_about(text, bot, [b for b in (named or "").split(",") if b and b != bot])
            if passage:
                out.setdefault(bot, []).append(passage)
        return out


def passage_about(text: str, bot: str, others: list[str]) -> str:
    """The part of a post that speaks of `bot`: a post naming a nudify bot and a weather bot must
    not lend the weather bot the nudify bot's words. With other bots named, only the lines naming
    this bot are kept (or, if none names it, the lines naming no bot at all)."""
    if not others:
        return text
    lines = [line for line in text.splitlines() if line.strip()]
    low = [line.lower() for line in lines]
    mine = [line for line, lo in zip(lines, low) if bot in lo]
    if mine:
        return "\n".join(mine)
    return "\n".join(line for line, lo in zip(lines, low) if not any(o in lo for o in others))


async def promo_posts(store: BotsStore) -> AsyncIterator[PromoPost]:
    """Every post that references a bot, with its references, streamed in (channel, id) order."""
    key: tuple[str, int] | None = None
    head: tuple[Any, ...] = ()
    refs: list[tuple[str, str, str]] = []
    async for channel, post_id, date, text, bot, how, param, fwd in store.bot_reference_rows(FETCH_ROWS):
        if (channel, post_id) != key:
            if key is not None:
                yield PromoPost(key[0], key[1], head[0], head[1], tuple(refs), head[2])
            key, head, refs = (channel, post_id), (date, text or "", bool(fwd)), []
        refs.append((bot, how, param or ""))
    if key is not None:
        yield PromoPost(key[0], key[1], head[0], head[1], tuple(refs), head[2])


# what a channel says when it advertises a bot, and what it says when it reports on one
_SELLING = frozenset({"send_photo_flow", "credits_paywall", "referral_reward", "mirror_notice", "acquaintance_target",
                      "unfiltered", "see_through", "consent_disclaimer"})
_REPORTING = frozenset({"news", "victim_support_reporting", "antispam", "deepfake_detection"})


def advertised(text: str, named: list[str], model: Model) -> list[str]:
    """Which of the bots a post names its words advertise: the lines about each make an offer or a
    sales pitch, and the post does not read as reporting or moderation (then none)."""
    whole = find_signals({"promotions": text}, model)
    if any(g in whole for g in _REPORTING):
        return []
    out = []
    for bot in named:
        others = [b for b in named if b != bot]
        about = whole if not others else find_signals({"promotions": passage_about(text, bot, others)}, model)
        if any(g in model.core or g in _SELLING for g in about):
            out.append(bot)
    return out


async def stream_refs(store: BotsStore, profiles: dict[str, str]) -> tuple[list[Mirror], list[tuple[str, int, str]]]:
    """One pass over every post that references a bot, one post in memory at a time: the mirrors
    (find_mirrors), and the (channel, post, bot) that the post's words advertise but that it only
    names (they become `ad_text` references, which the graph counts as promotions)."""
    finder = MirrorFinder()
    model = default_model()
    ads: list[tuple[str, int, str]] = []
    async for post in promo_posts(store):
        finder.add(post)
        if not post.text:
            continue
        named = sorted({bot for bot, _, _ in post.refs})
        promoted = {bot for bot, how, _ in post.refs if how in PROMOTION_KINDS}
        if set(named) - promoted:
            ads += [(post.channel, post.id, bot) for bot in advertised(post.text, named, model) if bot not in promoted]
    return finder.mirrors(profiles), ads
