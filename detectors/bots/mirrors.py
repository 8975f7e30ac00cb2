"""Mirror detection: which bot replaces which (banned) bot, and what shows it. Pure.

Operators whose bot is banned announce a replacement ("@old was banned, new mirror: @new"),
keep handing out the same referral start code with the new bot, or say so in the new bot's
profile. Each gives a `mirror_of` edge (new -> old) with evidence a person can check.

Which bot of a notice is the new one is never taken from the order they are named in ("new bot
@x (old @y)" names the new one first): old/new words in each language (lexicon_mirrors.toml,
data beside the classifier's lexicons) are said of the bot they stand next to, and a notice whose
words do not tell records no link.
"""
from __future__ import annotations

import bisect
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from detectors.bots.classifier import Model, default_model, find_signals

_MENTION = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})")
_OFFICIAL_AFFILIATE = "_tgr_"  # Telegram's own affiliate codes are not an operator's referral code

MARKERS_PATH = Path(__file__).with_name("lexicon_mirrors.toml")
SIDES = ("new", "old")
ATTACH = ("near", "next", "prev")
MAX_GAP = 48  # characters between a direction word and the bot it is said of
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u034f\u180e"), None)
_FOLD = {**_INVISIBLE, ord("ي"): "ی", ord("ى"): "ی", ord("ك"): "ک"}  # Arabic and Persian yeh and kaf meet
# what a bot is named by in a text: a t.me link (with its query), an @mention; other links are named nothing
_TARGET = re.compile(r"(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([a-z][a-z0-9_]{3,31})\S*"
                     r"|@([a-z][a-z0-9_]{3,31})|https?://\S+", re.IGNORECASE)
# where a sentence or an aside ends: a direction word is not said across it
_BOUNDARY = re.compile(r"[.!?;\n()\[\]{}。！？；「」『』【】〈〉《》«»؟؛]+")


def _fold(text: str) -> str:
    """NFKC, casefold, invisible characters out, Arabic yeh and kaf as Persian: the same for text and words."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


def _script(ch: str) -> str:
    """spaced (Latin, Cyrillic, Greek: whole words), arabic (prefixes attach), cjk (Korean, Chinese, Japanese)."""
    name = unicodedata.name(ch, "")
    if name.startswith(("HANGUL", "CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC")):
        return "cjk"
    if name.startswith(("ARABIC", "PERSIAN")):
        return "arabic"
    return "spaced"


def _word_pattern(word: str) -> str:
    stem = word.endswith("*")
    word = word.rstrip("*")
    cjk = any(_script(c) == "cjk" for c in word if c.isalpha())
    body = (r"\s*" if cjk else r"\s+").join(re.escape(part) for part in word.split())
    first, last = _script(word[0]), _script(word[-1])
    left = r"(?<!\w)" if first == "spaced" and word[0].isalnum() else ""
    right = r"(?!\w)" if first != "cjk" and last != "cjk" and not stem and word[-1].isalnum() else ""
    return left + body + (r"\w*" if stem else "") + right


class Markers:
    """The direction words of every language: one regex, and each word's roles (side, attach)."""

    def __init__(self, tables: dict[str, dict[str, list[str]]]) -> None:
        by_word: dict[str, dict[str, Any]] = {}  # key -> {"roles": set, "langs": [..], "word": str}
        for lang, table in tables.items():
            roles_of: dict[str, set[tuple[str, str]]] = {}
            spelled: dict[str, str] = {}
            for key, words in table.items():
                if key == "neutral":
                    role = None
                else:
                    side, _, attach = key.partition("_")
                    if side not in SIDES or attach not in ATTACH:
                        raise ValueError(f"{MARKERS_PATH.name} [{lang}] {key}: expected <new|old>_<near|next|prev>")
                    role = (side, attach)
                for word in words:
                    spelled.setdefault(_fold(word).strip(), " ".join(word.split()))
                    roles = roles_of.setdefault(_fold(word).strip(), set())
                    if role:
                        roles.add(role)
            for word, roles in roles_of.items():
                key = self._key(word)
                seen = by_word.get(key)
                if seen is not None and seen["roles"] != roles:
                    raise ValueError(f"{MARKERS_PATH.name}: {word!r} has roles {sorted(roles)} in [{lang}] but "
                                     f"{sorted(seen['roles'])} in [{seen['langs'][0]}]")
                by_word.setdefault(key, {"roles": roles, "langs": [], "word": word,
                                         "spelled": spelled[word]})["langs"].append(lang)
        self._by_key = by_word
        words = sorted((v["word"] for v in by_word.values()), key=lambda w: (-len(w.rstrip("*")), w))
        self.pattern = re.compile("|".join(_word_pattern(w) for w in words))
        self._stems = sorted((v["word"].rstrip("*") for v in by_word.values() if v["word"].endswith("*")),
                             key=len, reverse=True)

    @staticmethod
    def _key(word: str) -> str:
        return "".join(word.split())

    def lookup(self, found: str) -> tuple[set[tuple[str, str]], str]:
        """The roles of a word as found in a text (a stem's inflected form included), and how to show it:
        as the markers file spells it, or as found for a stem."""
        key = self._key(_fold(found))
        entry = self._by_key.get(key)
        if entry is not None:
            return set(entry["roles"]), entry["spelled"]
        stem = next((s for s in self._stems if key.startswith(self._key(s))), None)
        entry = self._by_key.get(self._key(stem) + "*") if stem is not None else None
        return (set(entry["roles"]), " ".join(found.split())) if entry else (set(), found)

    def roles(self, found: str) -> set[tuple[str, str]]:
        return self.lookup(found)[0]


def load_markers(path: Path = MARKERS_PATH) -> Markers:
    with path.open("rb") as handle:
        return Markers(tomllib.load(handle))


@lru_cache(maxsize=1)
def default_markers() -> Markers:
    return load_markers()


def _targets(text: str, bots: list[str]) -> list[tuple[int, int, str | None]]:
    """(start, end, bot or None) of every link and @mention in the folded text, and of a bot's bare name."""
    wanted = set(bots)
    spans = []
    for m in _TARGET.finditer(text):
        name = (m.group(1) or m.group(2) or "").lower()
        spans.append((m.start(), m.end(), name if name in wanted else None))
    for bot in bots:
        for m in re.finditer(rf"(?<![\w@/]){re.escape(bot)}(?!\w)", text):
            if not any(s <= m.start() < e for s, e, _ in spans):
                spans.append((m.start(), m.end(), bot))
    return sorted(spans)


def _words(found: list[str]) -> str:
    return ", ".join(f'"{w}"' for w in dict.fromkeys(found))


def said_of(text: str, bots: list[str], markers: Markers | None = None) -> dict[str, dict[str, list[str]]]:
    """{bot: {"new": words, "old": words}}: the direction words the text says of each of `bots`.

    Each old/new word is said of one bot: the one named next to it on its side ("next", "prev"),
    or the nearer one ("near"), in the same sentence, at most MAX_GAP characters away, with no
    word of the other side between them. A word as near to one named thing as to another, or
    nearer to a link or @mention that is none of `bots`, is said of none of them.
    """
    markers = markers or default_markers()
    bots = [b.lower() for b in bots]
    said: dict[str, dict[str, list[str]]] = {b: {"new": [], "old": []} for b in bots}
    folded = _fold(text)
    targets = _targets(folded, bots)
    if not any(bot for _, _, bot in targets):
        return said
    masked = list(folded)
    for start, end, _ in targets:  # words inside usernames and links are no words
        masked[start:end] = "\0" * (end - start)
    masked_text = "".join(masked)
    ends = [m.start() for m in _BOUNDARY.finditer(masked_text)]

    def sentence(at: int) -> int:
        return bisect.bisect_right(ends, at)

    found = []
    for m in markers.pattern.finditer(masked_text):
        roles, word = markers.lookup(m.group())
        if roles:
            found.append((m.start(), m.end(), word, roles))
    sides_at = [(s, e, {side for side, _ in roles}) for s, e, _, roles in found]

    def clear(lo: int, hi: int, side: str) -> bool:
        return lo <= hi and not any(lo <= s and e <= hi and (sides - {side}) for s, e, sides in sides_at)

    for start, end, word, roles in found:
        before = next(((s, e, b) for s, e, b in reversed(targets) if e <= start), None)
        after = next(((s, e, b) for s, e, b in targets if s >= end), None)
        for side, attach in sorted(roles):
            options = []
            if before and attach != "next" and sentence(before[1]) == sentence(start) \
                    and start - before[1] <= MAX_GAP and clear(before[1], start, side):
                options.append((start - before[1], before[2]))
            if after and attach != "prev" and sentence(end) == sentence(after[0]) \
                    and after[0] - end <= MAX_GAP and clear(end, after[0], side):
                options.append((after[0] - end, after[2]))
            options.sort(key=lambda o: o[0])
            if not options or (len(options) == 2 and options[0][0] == options[1][0]):
                continue  # nothing near, or as near to one as to the other
            bot = options[0][1]
            if bot in said:
                said[bot][side].append(word)
    return said


def _net(words: dict[str, list[str]]) -> int:
    return len(words["new"]) - len(words["old"])


def mirror_direction(text: str, bots: list[str], markers: Markers | None = None
                     ) -> tuple[str, str, dict[str, list[str]]] | None:
    """(new bot, old bot, the direction words said of each) for a text naming two bots, or None.

    One bot must come out old (more old words than new said of it) and the other new (more new
    than old); anything else (no words, both old, both new, a tie) tells no direction.
    """
    bots = list(dict.fromkeys(b.lower() for b in bots))
    if len(bots) != 2:
        return None
    said = said_of(text, bots, markers)
    a, b = bots
    for new, old in ((a, b), (b, a)):
        if _net(said[new]) > 0 and _net(said[old]) < 0:
            return new, old, {new: said[new]["new"], old: said[old]["old"]}
    return None


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
    """A post in mirror-notice words naming exactly two bots, whose old/new words tell which is which.

    The classifier's `mirror_notice` terms say it is a notice; the direction words
    (lexicon_mirrors.toml) say which bot is the old one. When they do not tell, no link.
    """
    model = model or default_model()
    out = []
    for post in posts:
        bots = list(dict.fromkeys(r[0] for r in post.refs))
        if len(bots) != 2:
            continue  # one bot is no replacement; three or more is a list of working bots
        langs = _mirror_langs(post.text, model)
        if not langs:
            continue
        found = mirror_direction(post.text, bots)
        if found is None:
            continue  # precision first: a notice whose direction cannot be told records nothing
        new, old, words = found
        out.append(Mirror(new, old, "notice",
                          f"post {post.channel}/{post.id} announces @{new} in place of @{old} ({'/'.join(langs)}; "
                          f"{_words(words[new])} at @{new}, {_words(words[old])} at @{old})"))
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
    """A bot whose own profile, in mirror-notice words, names another bot as the old one.

    A named bot the profile's direction words call the new one (the old bot's profile pointing
    at its successor) is no predecessor of it.
    """
    model = model or default_model()
    out = []
    for bot, text in profiles.items():
        if not text:
            continue
        named = list(dict.fromkeys(m.lower() for m in _MENTION.findall(text)
                                   if m.lower() != bot and m.lower().endswith("bot")))
        langs = _mirror_langs(text, model) if named else []
        if not langs:
            continue
        said = said_of(text, [bot, *named])
        for old in named:
            if _net(said[old]) > 0:
                continue  # named as the new bot: the other way round, and a profile is no notice
            words = f"; {_words(said[old]['old'])} at @{old}" if said[old]["old"] else ""
            out.append(Mirror(bot, old, "profile",
                              f"the profile of @{bot} names @{old} as the bot it replaces ({'/'.join(langs)}{words})"))
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
