"""Text normalisation for the bot classifier: undo the tricks that hide words from filters.

Bot operators write "ｕｎｄｒｅｓｓ", "𝐧𝐮𝐝𝐢𝐟𝐲", "u n d r e s s", "n.u.d.i.f.y", "undr3ss" or
mix Cyrillic look-alikes into Latin words, so that plain keyword filters miss them. Every
lexicon term goes through the same functions as the text, so a term and its disguises meet
in one form. Pure functions, no state; fast enough for thousands of profiles a second
(one NFKC, one casefold, a few `str.translate` and regex passes per field).
"""
from __future__ import annotations

import re
import unicodedata

# Zero-width and invisible formatting characters: deleted.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064"
                                    "\ufeff\u00ad\u034f\u180e\u115f\u1160\u3164\uffa0"), None)

# Styled letters NFKC leaves alone: enclosed/squared capitals, regional indicators, small capitals.
_STYLED: dict[int, str] = {}
for _base in (0x1F130, 0x1F150, 0x1F170, 0x1F1E6):  # squared, negative circled, negative squared, regional
    for _i in range(26):
        _STYLED[_base + _i] = chr(ord("a") + _i)
_STYLED.update({ord(c): l for c, l in zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz")})
_STYLED[ord("ʙ")] = "b"
_STYLED[ord("ᴡ")] = "w"
_STYLED[ord("ꭓ")] = "x"

# Latin letters with diacritics -> base letter (ñ -> n, ồ -> o, đ -> d), so "cởi đồ" meets "coi do".
_FOLD: dict[int, str] = {ord("đ"): "d", ord("ð"): "d", ord("ø"): "o", ord("ł"): "l", ord("ħ"): "h", ord("ı"): "i"}
for _cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
    _c = chr(_cp)
    _base_chars = "".join(ch for ch in unicodedata.normalize("NFD", _c) if not unicodedata.combining(ch))
    if _base_chars != _c and _base_chars.isascii() and _base_chars.isalpha():
        _FOLD[_cp] = _base_chars.lower()

_BASE_TABLE = {**_INVISIBLE, **_STYLED, **_FOLD}

# Cyrillic and Greek letters that look like Latin ones (lower case: text is casefolded first).
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w",
    "ь": "b", "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ϲ": "c", "ω": "w", "ѵ": "v", "ɩ": "i", "ԁ": "d", "ɑ": "a", "ԍ": "g", "ӏ": "i", "ɴ": "n",
})
# The other way: Latin letters that look like Cyrillic ones, for Cyrillic words disguised with Latin letters.
_TO_CYRILLIC = str.maketrans({"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "k": "к",
                              "m": "м", "t": "т", "h": "н", "b": "в", "i": "і"})
_CONFUSABLE = re.compile("[" + "".join(k for k in "авсеёһіїјкмнорԛѕтухԝьɡαβεηικνορτυχγϲωѵɩԁɑԍӏ") + "]")
_MIXED = re.compile(r"[a-z][\u0400-\u04ff]|[\u0400-\u04ff][a-z]")
_FOREIGN_LETTER = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
_WORD = re.compile(r"\w+")

# Leetspeak inside words that also hold Latin letters ("undr3ss", "n@ked" stays out of plain text).
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
                       "|": "i"})
_LEET_TOKEN = re.compile(r"(?<![\w@$!|])[a-z0-9@$!|]+")
_HAS_LEET = re.compile(r"[a-z][0-9@$!|]|[0-9@$!|][a-z]")

# "u n d r e s s", "n.u.d.i.f.y", "脱 衣": three or more single characters split by separators.
_SPACED = re.compile(r"(?<!\w)\w(?:[\s.\-_*·•,:+~/\\]{1,3}\w(?!\w)){2,}")
_SEPARATORS = re.compile(r"[\s.\-_*·•,:+~/\\]+")
# Punctuation inside a word ("un-dress", "x-ray", "nu_dify"): removed.
_INNER_PUNCT = re.compile(r"(?<=\w)[\-_.*·•'’](?=\w)")
_SPACES = re.compile(r"\s+")
# Chinese and Japanese put no spaces between characters: a space between two of them is a disguise.
_CJK_GAP = re.compile(r"(?<=[\u3040-\u30ff\u3400-\u9fff])[\s.\-_*·•]+(?=[\u3040-\u30ff\u3400-\u9fff])")


def _fix_homoglyphs(text: str) -> str:
    """Map look-alike Cyrillic/Greek letters to Latin in words that are otherwise Latin.

    A word with at least one Latin letter is mapped; a word made only of look-alikes is mapped
    when no word in the text uses Cyrillic or Greek letters that have no Latin twin (so real
    Russian text is left alone).
    """
    if not _CONFUSABLE.search(text) and not _MIXED.search(text):
        return text
    really_foreign = any(_FOREIGN_LETTER.search(_CONFUSABLE.sub("", w)) for w in _WORD.findall(text))

    def fix(m: re.Match) -> str:
        word = m.group()
        has_latin = any("a" <= ch <= "z" for ch in word)
        if not _CONFUSABLE.search(word):
            if has_latin and _FOREIGN_LETTER.search(word):  # "любoгo": Cyrillic with Latin look-alikes
                mapped = word.translate(_TO_CYRILLIC)
                return word if any("a" <= ch <= "z" for ch in mapped) else mapped
            return word
        if has_latin or (not really_foreign and not _FOREIGN_LETTER.search(_CONFUSABLE.sub("", word))):
            mapped = word.translate(_HOMOGLYPHS)
            if not _FOREIGN_LETTER.search(mapped):
                return mapped
        if has_latin:  # a Cyrillic word with Latin look-alikes in it ("Paздeвaтop"): made all Cyrillic
            mapped = word.translate(_TO_CYRILLIC)
            if not any("a" <= ch <= "z" for ch in mapped):
                return mapped
        return word

    return _WORD.sub(fix, text)


def _join_spaced(m: re.Match) -> str:
    """Join the letters; a first letter set off by another kind of separator than the rest is a word
    of its own ("/x y.e.c.h.i.n" is the command x and a dotted word)."""
    text = m.group()
    separators = _SEPARATORS.findall(text)
    if len(separators) >= 3 and separators[0] != separators[1] and len(set(separators[1:])) == 1:
        return text[0] + separators[0] + _SEPARATORS.sub("", text[1 + len(separators[0]):])
    return _SEPARATORS.sub("", text)


def _unleet(m: re.Match) -> str:
    token = m.group()
    core = token.lstrip("@").rstrip("!|")
    if not core or core.isdigit() or not _HAS_LEET.search(core) or not any("a" <= c <= "z" for c in core):
        return token
    start = len(token) - len(token.lstrip("@"))
    return token[:start] + core.translate(_LEET) + token[start + len(core):]


# Quotes: an apostrophe goes ("n'importe", "o'z", "'uncensored'"), a quotation mark is a space
# ("«без цензуры»"), so a quoted word meets its term and a letter before an apostrophe is no
# spaced-out letter.
_QUOTES = str.maketrans({**dict.fromkeys(map(ord, "'‘’`ʼ′"), None), **dict.fromkeys(map(ord, "\"«»“”„‹›「」『』"), " ")})


def normalize(text: str, lookalikes: bool = True) -> str:
    """A readable canonical form: lower case, plain letters, disguises undone, spaces collapsed.

    `lookalikes=False` keeps Cyrillic and Greek letters that look Latin as they are: a lexicon
    term such as "сурет" is all look-alikes, but in real Cyrillic text it stays Cyrillic."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_BASE_TABLE).translate(_QUOTES)
    if lookalikes:
        text = _fix_homoglyphs(text)
    text = _SPACED.sub(_join_spaced, text)
    text = _CJK_GAP.sub("", text)
    text = _INNER_PUNCT.sub("", text)
    if _HAS_LEET.search(text):
        text = _LEET_TOKEN.sub(_unleet, text)
    return _SPACES.sub(" ", text).strip()


_SKELETON = str.maketrans({"l": "i"})  # "1" reads as i or l: fold both to one letter for matching


def skeleton(text: str, lookalikes: bool = True) -> str:
    """The matching form: `normalize`, then l and i folded together (for "c1othes")."""
    return normalize(text, lookalikes).translate(_SKELETON)
