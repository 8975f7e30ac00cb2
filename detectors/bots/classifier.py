"""Deepfake-bot classifier: a bot's public profile (and the posts advertising it) -> verdict.

Pure: no network, no database. The terms live in `detectors/bots/lexicon/<lang>.toml` (one file per
language, each term in a signal group) and the weights in `detectors/bots/lexicon/weights.toml`,
so an analyst can read why a score is what it is and change it without touching code.

Precision comes first: labelling a bot `deepfake_generator` accuses a real operator and
points police at it, so the decisive evidence must be an offer to undress someone or put
a face into adult video (a "core" group), usually with a send-a-photo flow or a paywall.
Everything else (face swap, credits, mirrors) moves the score but cannot decide alone.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import ahocorasick
from anyascii import anyascii

from detectors.normalize import skeleton
from tgsweep.config import Bots, default

LEXICON_DIR = Path(__file__).with_name("lexicon")
LANGUAGES = tuple(sorted(p.stem for p in LEXICON_DIR.glob("*.toml") if p.stem != "weights"))
# Order in which fields are named in reasons: the bot's own words first.
FIELDS = ("description", "about", "name", "username", "commands", "promotions")
OWN_FIELDS = ("description", "about", "name", "commands")  # the bot's own words (not its username, not promotions)
MAX_PROMOTIONS = default(Bots, "max_promotions")
# a username that names an offer to fight it: "stop_deepnude_help_bot", "anti_nudify_guard_bot"
_AGAINST = ("stop", "anti", "ban", "block", "report", "detect", "against", "fight", "protect", "guard", "kill")
NEAR = "_near"  # a concept found from two parts near each other: its own feature, with its own fitted weight
# a core offer together with one of these is the shape of a deepfake bot (see weights.toml)
COMBO_PARTNERS = ("send_photo_flow", "credits_paywall", "acquaintance_target", "mirror_notice")
MAX_PROMOTION_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score cut-offs (settings: [bots] generator_threshold, benign_threshold)."""

    generator: float = default(Bots, "generator_threshold")
    benign: float = default(Bots, "benign_threshold")


@dataclass(slots=True)
class Verdict:
    username: str
    label: str  # deepfake_generator, benign, unknown
    score: float  # 0..1, calibrated
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "label": self.label, "score": self.score, "reasons": self.reasons}


@dataclass(frozen=True)
class Model:
    """The lexicon and the weights, compiled once."""

    terms: dict[str, tuple[tuple[str, str], ...]]  # skeleton term -> ((group, language), ...)
    automaton: Any  # every term (pyahocorasick); Latin terms must start a word
    longest: int  # characters of the longest term
    two_terms: tuple[str, ...]  # groups that count only when two different terms of them are found
    blocking: frozenset[str]  # harmless_sense terms: the words inside them are not read again
    negations: frozenset[str]  # words that turn a following 18+/NSFW/uncensored term into its opposite
    negatable: frozenset[str]  # the groups they apply to
    prohibitions: re.Pattern | None  # words after a term, in its clause, that forbid it ("nude not allowed", "bogel dilarang")
    parts: frozenset[str]  # word groups that count only in pairs (weights.toml [parts])
    near: dict[str, tuple[tuple[str, str], ...]]  # concept -> pairs of parts found near each other
    near_window: int
    also: dict[str, str]  # groups whose words also serve as a part ("nsfw mode" is an age marker too)
    profile_pairs: dict[str, tuple[tuple[str, str], ...]]  # concept -> pairs of parts anywhere in the own words
    username_pattern: re.Pattern  # Latin terms anywhere (usernames glue words: "undressaibot")
    maskable: dict[str, tuple[str, ...]]  # first letter -> one-word offer terms a "n*des" may hide
    bias: float
    combo: float
    promotion_factor: float
    promotion_factor_no_profile: float
    core: tuple[str, ...]
    positive: dict[str, float]
    negative: dict[str, float]
    reasons: dict[str, str]
    platt_a: float
    platt_b: float


def _trie_regex(words: Iterable[str]) -> str:
    """One regex for many literals, as a trie: the engine follows one branch per character."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?" if len(branches) == 1 else body + "?"
        return body

    return build(trie)


def _is_latin(term: str) -> bool:
    return "a" <= term[0] <= "z" or term[0].isdigit()


_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_CYRILLIC = re.compile(r"^[\u0400-\u04ff\s'-]+$")


def choseong(word: str) -> str | None:
    """The initial consonants of a Korean word ("지인합성" -> "ㅈㅇㅎㅅ"), as operators abbreviate
    it; None unless the word is three or more Hangul syllables (shorter ones collide)."""
    letters = word.replace(" ", "")
    if len(letters) < 3 or not all(_HANGUL_FIRST <= ord(c) <= _HANGUL_LAST for c in letters):
        return None
    return "".join(_CHOSEONG[(ord(c) - _HANGUL_FIRST) // 588] for c in letters)


def derived_forms(word: str) -> list[str]:
    """Disguised forms of a core term, made from it rather than listed: Korean choseong, the
    leetspeak reading of 7 as r, and the Latin transliteration of a Cyrillic term (anyascii: "раздеть" -> "razdet") when it is long
    enough not to collide with Latin words."""
    forms = []
    initials = choseong(word)
    if initials:
        forms.append(initials)
    key = skeleton(word)
    if _is_latin(key) and "r" in key and len(key) >= 6:  # leet "7" is r as often as t: "und7ess"
        forms.append(key.replace("r", "t"))
    if _CYRILLIC.match(word):
        latin = skeleton(anyascii(word).replace("'", "").lower())
        if len(latin.replace(" ", "")) >= 6:
            forms.append(latin)
    return forms


def load_lexicon(directory: Path = LEXICON_DIR) -> dict[str, dict[str, list[str]]]:
    """{language: {group: [terms]}} as written in the TOML files."""
    out: dict[str, dict[str, list[str]]] = {}
    for lang in LANGUAGES:
        data = tomllib.loads((directory / f"{lang}.toml").read_text(encoding="utf-8"))
        out[data.get("language", lang)] = data["terms"]
    return out


def build_model(directory: Path = LEXICON_DIR, weights: dict[str, Any] | None = None) -> Model:
    """Compile the lexicon and weights (weights.toml unless given) into a Model."""
    if weights is None:
        weights = tomllib.loads((directory / "weights.toml").read_text(encoding="utf-8"))
    known = set(weights["positive"]) | set(weights["negative"]) | set(weights.get("parts", {}).get("groups", ()))
    terms: dict[str, list[tuple[str, str]]] = {}
    for lang, groups in load_lexicon(directory).items():
        for group, words in groups.items():
            if group not in known:
                raise ValueError(f"lexicon {lang}.toml: group {group!r} has no weight in weights.toml")
            for word in words:
                keys = {skeleton(word), skeleton(word, lookalikes=False)}  # "сурет" in Cyrillic text stays Cyrillic
                for key in [*keys] + (derived_forms(word) if group in weights["core"] else []):
                    if key and (group, lang) not in terms.setdefault(key, []):
                        terms[key].append((group, lang))
    latin = [t for t in terms if _is_latin(t)]
    automaton = ahocorasick.Automaton()
    for key in terms:
        automaton.add_word(key, key)
    automaton.make_automaton()
    username_pattern = re.compile(_trie_regex([t for t in latin if len(t) >= 5 and " " not in t]))
    offer_groups = set(weights["core"]) | {"nude_word", "clothes", "removal", "see_through", "unfiltered"}
    maskable: dict[str, list[str]] = {}
    for key, groups in terms.items():
        if len(key) >= 4 and " " not in key and any(g in offer_groups for g, _ in groups):
            maskable.setdefault(key[0], []).append(key)
    return Model(
        terms={k: tuple(v) for k, v in terms.items()}, automaton=automaton, longest=max(map(len, terms), default=1),
        username_pattern=username_pattern,
        maskable={k: tuple(sorted(v, key=len, reverse=True)) for k, v in maskable.items()},
        bias=float(weights["bias"]), combo=float(weights["combo"]),
        promotion_factor=float(weights["promotion_factor"]),
        core=tuple(weights["core"]) + tuple(c + NEAR for c in weights["core"] if c + NEAR in weights["positive"]),
        promotion_factor_no_profile=float(weights.get("promotion_factor_no_profile", weights["promotion_factor"])),
        two_terms=tuple(weights.get("two_terms", ())),
        blocking=frozenset(t for t, groups in terms.items() if any(g == "harmless_sense" for g, _ in groups)),
        negations=frozenset(skeleton(w) for w in weights.get("negation", {}).get("words", ())),
        negatable=frozenset(weights.get("negation", {}).get("groups", ())),
        prohibitions=_prohibition_pattern([skeleton(w) for w in weights.get("negation", {}).get("after", ())]),
        parts=frozenset(weights.get("parts", {}).get("groups", ())),
        near={k: tuple(tuple(p) for p in v) for k, v in weights.get("parts", {}).get("near", {}).items()},
        near_window=int(weights.get("parts", {}).get("window", 40)),
        also=dict(weights.get("parts", {}).get("also", {})),
        profile_pairs={k: tuple(tuple(p) for p in v)
                       for k, v in weights.get("parts", {}).get("profile", {}).items()},
        positive={k: float(v) for k, v in weights["positive"].items()},
        negative={k: float(v) for k, v in weights["negative"].items()},
        reasons={**{k + NEAR: v + " (in words found near each other)" for k, v in weights["reasons"].items()},
                 **weights["reasons"]}, platt_a=float(weights["platt"]["a"]), platt_b=float(weights["platt"]["b"]),
    )


@lru_cache(maxsize=1)
def default_model() -> Model:
    return build_model()


def _commands_text(commands: Any) -> str:
    if not commands:
        return ""
    if isinstance(commands, str):
        return commands
    parts = []
    for c in commands:
        if isinstance(c, dict):
            parts.append(f"{c.get('command', '')} {c.get('description', '')}")
        else:
            parts.append(str(c))
    return "\n".join(parts)


def profile_fields(profile: dict[str, Any], promotions: list[str] | None = None) -> dict[str, str]:
    """The texts to read, by field name, from a contract profile."""
    if promotions is None:
        promotions = profile.get("promotions") or []
    promo = "\n".join(str(p)[:MAX_PROMOTION_CHARS] for p in promotions[:MAX_PROMOTIONS])
    return {
        "description": str(profile.get("description") or ""),
        "about": str(profile.get("about") or ""),
        "name": str(profile.get("name") or profile.get("title") or ""),
        "username": str(profile.get("username") or "").lstrip("@").replace("_", " "),
        "commands": _commands_text(profile.get("commands")),
        "promotions": promo,
    }


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _overlapping(model: Model, text: str) -> list[tuple[int, str]]:
    """Every term found with where it starts, those starting inside another one included: in
    "заміна обличчя у відео для дорослих" a face-swap term must not hide the face-into-adult-video
    term inside it.

    One Aho-Corasick pass (pyahocorasick) finds every occurrence of every term, in time linear in
    the text whatever the lexicon's size. Then, as a reader would: the longest term at each
    place (a Latin term only at the start of a word), left to right; inside one, a term starting
    after a space (or anywhere, in scripts written without spaces) counts too, unless a harmless
    phrase holds it and it ends inside that phrase."""
    longest: dict[int, str] = {}
    for end, key in model.automaton.iter(text):
        start = end - len(key) + 1
        if start > 0 and key[0] in _WORD_CHARS and text[start - 1] in _WORD_CHARS:
            continue
        if len(key) > len(longest.get(start, "")):
            longest[start] = key
    hits: list[tuple[int, str]] = []
    done = 0
    for start in sorted(longest):
        if start < done:
            continue
        key = longest[start]
        end = start + len(key)
        hits.append((start, key))
        if " " in key:
            inner = [start + i + 1 for i, ch in enumerate(key) if ch == " "]
        elif not _is_latin(key):
            inner = range(start + 1, end)
        else:
            inner = ()
        for at in inner:
            other = longest.get(at)
            if other is not None and (at + len(other) > end or key not in model.blocking):
                hits.append((at, other))
        done = end
    return hits


def find_signals(fields: dict[str, str], model: Model | None = None) -> dict[str, list[tuple[str, str]]]:
    """{group: [(field, language), ...]} in field order: which groups each field's text hits.

    Parts (weights.toml [parts]) count only together: a concept such as `undress` is also found
    when a clothes word and a removal word stand within `near_window` characters of each other in
    one field, in any language and word order ("kiyimni olib tashlash", "retire ses vêtements")."""
    model = model or default_model()
    found: dict[str, list[tuple[str, str]]] = {}
    distinct: dict[str, set[str]] = {}
    own_parts: dict[str, list[tuple[str, str]]] = {}

    def add(group: str, where: tuple[str, str]) -> None:
        if where not in found.setdefault(group, []):
            found[group].append(where)

    for name in FIELDS:
        text = fields.get(name)
        if not text:
            continue
        norm = skeleton(unmask(text, model) if "*" in text else text)
        hits = _overlapping(model, norm)
        if name == "username":
            glued = norm.replace(" ", "")
            hits = [(at, hit) for at, hit in hits if not norm[:at].replace(" ", "").endswith(_AGAINST)]
            hits += [(-1, m.group()) for m in model.username_pattern.finditer(glued)
                     if not glued[:m.start()].endswith(_AGAINST)]
        parts: dict[str, list[tuple[int, int, str]]] = {}
        for start, hit in hits:
            negated = start > 0 and _negated(norm, start, model.negations)
            forbidden = start >= 0 and _forbidden(norm, start + len(hit), model.prohibitions)
            for group, lang in model.terms.get(hit, ()):
                if negated and group in model.negatable:
                    continue  # "no NSFW", "sem conteudo adulto", "kein 18+": the opposite of an offer
                if forbidden and (group in model.negatable or group in model.core or group in model.parts):
                    continue  # "nude not allowed", "脱衣禁止", "photos of others are forbidden"
                part = group if group in model.parts else model.also.get(group)
                if part is not None:
                    parts.setdefault(part, []).append((start, start + len(hit), lang))
                if group in model.parts:
                    continue
                distinct.setdefault(group, set()).add(hit)
                add(group, (name, lang))
        for concept, pairs in model.near.items():
            for first, second in pairs:
                for s1, e1, lang in parts.get(first, ()):
                    if any(s2 - e1 <= model.near_window and s1 - e2 <= model.near_window and s1 >= 0 and s2 >= 0
                           for s2, e2, _ in parts.get(second, ())):
                        add(concept + NEAR, (name, lang))
                        break
        if name in OWN_FIELDS:
            for part, places in parts.items():
                own_parts.setdefault(part, []).extend((name, lang) for _, _, lang in places)
    # a few pairs are specific enough to count anywhere in the bot's own words, not only side by side:
    # "18+" in the about text and "your coworker's photo" in the description
    for concept, pairs in model.profile_pairs.items():
        for first, second in pairs:
            if own_parts.get(first) and own_parts.get(second):
                add(concept + NEAR, own_parts[first][0])
    for group in model.two_terms:  # one everyday word ("order", "주문") is no shop alibi
        if len(distinct.get(group, ())) < 2:
            found.pop(group, None)
    return found


_MASKED = re.compile(r"\w+(?:\*+\w+)+")


def _fit_mask(token: str, term: str, slack: int) -> int | None:
    """How much of `token` ("n*des", "b*gil*n") spells `term` when each run of k stars stands for k
    letters (k +- `slack`); None when it does not, or when the term does not go on past a star."""
    def walk(i: int, j: int, starred: bool) -> int | None:
        if j == len(term):
            return i if starred and (i == len(token) or token[i] != "*") else None
        if i == len(token):
            return None
        if token[i] != "*":
            return walk(i + 1, j + 1, starred) if token[i] == term[j] else None
        k = len(token[i:]) - len(token[i:].lstrip("*"))
        for n in range(max(1, k - slack), k + slack + 1):
            if j + n < len(term) and (end := walk(i + k, j + n, True)) is not None:
                return end
        return None

    return walk(0, 0, False)


def unmask(text: str, model: Model) -> str:
    """Spell out words masked with stars ("n*des", "b*gilin") when they fit one offer term of the
    lexicon, so a masked word meets its term; everything else is left as written."""
    def fix(m: re.Match) -> str:
        # a letter stands in for the stars while the word is normalised in one piece (its script decides)
        token = skeleton(m.group().replace("*", "\u01c2")).replace("\u01c2", "*").replace(" ", "")
        for slack in (0, 1):
            for term in model.maskable.get(token[:1], ()):
                if (end := _fit_mask(token, term, slack)) is not None:
                    return term + token[end:]
        return m.group()

    return _MASKED.sub(fix, text)


_CLAUSE_END = re.compile(r"[.;!?•|\n。！？；]")


def _prohibition_pattern(words: list[str]) -> re.Pattern | None:
    """One regex for the words that forbid a term: whole words, except Chinese, Japanese and Korean
    ones, which stand without spaces ("裸体禁止", "누드금지")."""
    if not words:
        return None
    spaced = [re.escape(w) for w in words if w[0] < "\u2e80"]
    unspaced = [re.escape(w) for w in words if w[0] >= "\u2e80"]
    return re.compile("|".join([rf"(?<!\w)(?:{'|'.join(spaced)})(?!\w)"] * bool(spaced) + unspaced))


def _forbidden(text: str, end: int, prohibitions: re.Pattern | None) -> bool:
    """Whether the rest of the clause (a few words) after a term forbids it ("... and nude not allowed")."""
    return prohibitions is not None and prohibitions.search(_CLAUSE_END.split(text[end:end + 30], 1)[0]) is not None


def _negated(text: str, start: int, negations: frozenset[str]) -> bool:
    """Whether the word(s) just before `start` negate what follows ("no", "without", "без", "不")."""
    before = text[max(0, start - 16):start].rstrip(" :-,")
    if before[-1:] in negations:  # CJK: one character, no space
        return True
    words = before.split()
    return bool(words) and (words[-1] in negations or " ".join(words[-2:]) in negations)


def has_own_words(fields: dict[str, str]) -> bool:
    """Whether the bot says anything itself: a description, an about text or a command with more
    than its name. A banned bot keeps at most a name and /start."""
    commands = fields.get("commands", "")
    return bool(fields.get("description", "").strip() or fields.get("about", "").strip()
                or any(len(line.split()) > 1 for line in commands.splitlines()))


def _presence(places: list[tuple[str, str]], promotion_factor: float) -> float:
    return 1.0 if any(f != "promotions" for f, _ in places) else promotion_factor


def features(found: dict[str, list[tuple[str, str]]], model: Model, own_words: bool = True) -> dict[str, float]:
    """One readable feature per reason: each group found (1.0 in the bot's own words, less when
    only promotions say it), and `combo` (a core offer together with a combo partner).

    Without own words (a banned bot whose profile cannot be read) promotions are all there is
    and count more."""
    factor = model.promotion_factor if own_words else model.promotion_factor_no_profile
    out = {g: _presence(p, factor) for g, p in found.items() if g in model.positive or g in model.negative}
    for group in model.core:  # a concept said outright and also found from parts counts once
        if group + NEAR in out and out.get(group, 0.0) >= out[group + NEAR]:
            del out[group + NEAR]
    core = max((out.get(g, 0.0) for g in model.core), default=0.0)
    combo = core * max(out.get(g, 0.0) for g in COMBO_PARTNERS)
    if combo:
        out["combo"] = combo
    return out


def weight_of(name: str, model: Model) -> float:
    """The signed weight of a feature (negative groups subtract)."""
    if name == "combo":
        return model.combo
    return model.positive.get(name, 0.0) - model.negative.get(name, 0.0)


def raw_score(found: dict[str, list[tuple[str, str]]], model: Model, own_words: bool = True) -> float:
    """z = bias + sum of weight x feature (weights.toml, fitted by `python -m detectors.bots.calibrate`)."""
    return model.bias + sum(weight_of(n, model) * v for n, v in features(found, model, own_words).items())


def read_profile(profile: dict[str, Any], promotions: list[str] | None, model: Model
                 ) -> tuple[dict[str, list[tuple[str, str]]], bool]:
    """The signal groups a profile shows, and whether the bot says anything itself."""
    fields = profile_fields(profile, promotions)
    return find_signals(fields, model), has_own_words(fields)


def explain(profile: dict[str, Any], promotions: list[str] | None = None, model: Model | None = None) -> dict[str, Any]:
    """Every term of the score: for `tgsweep bots score --explain`."""
    model = model or default_model()
    found, own_words = read_profile(profile, promotions, model)
    feats = features(found, model, own_words)
    terms = [{"feature": n, "value": round(v, 3), "weight": weight_of(n, model),
              "contribution": round(weight_of(n, model) * v, 3)} for n, v in feats.items()]
    terms.sort(key=lambda t: -abs(t["contribution"]))
    z = model.bias + sum(t["contribution"] for t in terms)
    return {"bias": model.bias, "terms": terms, "z": round(z, 3), "score": round(calibrate(z, model), 4),
            "calibration": {"a": model.platt_a, "b": model.platt_b}, "own_words": own_words}


def calibrate(z: float, model: Model) -> float:
    t = model.platt_a * z + model.platt_b
    if t > 50:
        return 0.0
    return 1.0 / (1.0 + math.exp(t))


def _reason(group: str, places: list[tuple[str, str]], model: Model, negative: bool) -> str:
    field_name = places[0][0]
    langs = "/".join(dict.fromkeys(lang for f, lang in places if f == field_name))
    if negative:
        return f"negative: {model.reasons.get(group, group)} ({langs}, {field_name})"
    return f"{field_name}: {model.reasons.get(group, group)} ({langs})"


def score_bot(profile: dict[str, Any], promotions: list[str] | None = None,
              thresholds: Thresholds | None = None, model: Model | None = None) -> Verdict:
    """Score one bot profile (the contract's fields); promotions override profile["promotions"]."""
    model = model or default_model()
    thresholds = thresholds or Thresholds()
    found, own_words = read_profile(profile, promotions, model)
    score = round(calibrate(raw_score(found, model, own_words), model), 4)
    positives = sorted((g for g in found if g in model.positive), key=lambda g: -model.positive[g])
    negatives = sorted((g for g in found if g in model.negative), key=lambda g: -model.negative[g])
    reasons = [_reason(g, found[g], model, False) for g in positives]
    reasons += [_reason(g, found[g], model, True) for g in negatives]
    if score >= thresholds.generator and not any(g in found for g in model.core):
        # precision first: only an offer (a core group or concept) can make an accusation
        score = round(min(score, thresholds.generator - 0.01), 4)
        reasons.append("no offer of undressing, face-into-video, deepfakes or an 18+ mode: held below the "
                       "generator threshold")
    if score >= thresholds.generator:
        label = "deepfake_generator"
    elif score <= thresholds.benign and any(f != "promotions" for g in negatives for f, _ in found[g]):
        # benign needs the bot's own words to show a benign purpose: a news post naming a bot is no alibi
        label = "benign"
    else:
        label = "unknown"
    if not reasons:
        reasons = ["no signal in the profile or its promotions"]
    username = str(profile.get("username") or "").lstrip("@").lower()
    return Verdict(username, label, score, reasons)
