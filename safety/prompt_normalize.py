"""Prompt normalisation that undoes cheap obfuscation before a prompt is embedded.

Defeats: case games, Unicode compatibility forms (fullwidth, math bold, circled letters), Latin
accents and combining marks (zalgo), zero-width and other invisible characters, Cyrillic/Greek
letters that look Latin, leetspeak inside words ("n4k3d", "k1ll"), spaced-out letters ("n a k e d",
"s.e.x"), stretched letters ("nakeeeed", Arabic tatweel "عـاريـة"), and emoji (replaced by their
Unicode names, so "\N{PISTOL}" reads as "pistol"). The marks other scripts spell with (Devanagari
vowel signs, kana voicing marks, Arabic hamza, Cyrillic й and ё) stay, and a Russian text's own
words stay Cyrillic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

# Letters from other scripts that render like Latin ones (a subset of Unicode's confusables
# table covering Cyrillic, Greek and a few IPA letters, which is what obfuscators use).
_CONFUSABLES = {
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "ɡ": "g",
    "ԛ": "q",
    "ԝ": "w",
    "һ": "h",
    "ո": "n",
    "ս": "u",
    "ʏ": "y",
    "ɪ": "i",
    "ᴀ": "a",
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϲ": "c",
    "ϳ": "j",
}
_LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
    "£": "l",
}
_LEET_CHARS = re.escape("".join(_LEET))
# A token mixing letters with leet characters; pure numbers ("12", "1990") are left alone.
_LEET_TOKEN = re.compile(rf"[a-z{_LEET_CHARS}]*[a-z][a-z{_LEET_CHARS}]*|[{_LEET_CHARS}]+[a-z]+")
# Numbers with a unit-like suffix are not leetspeak: "4k", "1080p", "3d", "24fps", "2nd", "10x".
_NUMBER_WITH_UNIT = re.compile(r"^\d+(?:st|nd|rd|th|s|d|k|p|fps|x|m|h|cm|mm|kg|yo|y)?$")
# Three or more single characters separated by spaces or punctuation: "n a k e d", "s.e.x".
# Two or more spaces end a word, so "k i l l  y o u" keeps its word break.
_SPACED_LETTERS = re.compile(
    r"(?<![\w])(?:\w(?:[.\-_*·,]{1,2} ?| ))(?:\w(?:[.\-_*·,]{1,2} ?| )){1,}\w(?![\w])"
)
_SEPARATORS = re.compile(r"[\s.\-_*·,]+")
# Emoji whose Unicode names are not the word people mean.
_SYMBOL_NAMES = {"hocho": "knife", "aubergine": "eggplant"}
_REPEATS = re.compile(r"(\w)\1{2,}")


def _script(ch: str) -> str:
    """The first word of a character's Unicode name: LATIN, CYRILLIC, DEVANAGARI, HIRAGANA..."""
    return unicodedata.name(ch, "").split(" ", 1)[0]


def _keeps_mark(base: str, mark: str) -> bool:
    """Whether a combining mark is spelling rather than decoration or obfuscation.

    Latin accents and zalgo go (the lexicon is written without accents). Devanagari vowel signs,
    Arabic hamza and harakat, the kana voicing marks (dakuten) and Cyrillic й and ё are part of
    the word: stripping them turned "नंगी" into "नगी" and "脱がせて" into "脱かせて".
    """
    if not base.isalpha():
        return False
    script = _script(base)
    if script == "LATIN":
        return False
    if _script(mark) == script:  # DEVANAGARI SIGN..., ARABIC HAMZA...
        return True
    return len(unicodedata.normalize("NFC", base + mark)) == 1  # が, й, ё


_TATWEEL = "\u0640"  # stretches an Arabic letter's joining stroke: "عـاريـة" is "عارية"


def _strip_invisible(text: str) -> str:
    """Drop format characters (zero-width, bidi controls, soft hyphen), Arabic tatweel and
    decorative marks; write other scripts' digits (١٢, १२) as ASCII ones, as ages are matched."""
    kept: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(ch)
        if category in ("Cf", "Cc") or ch == _TATWEEL:
            continue
        if category == "Nd" and not ch.isascii():
            ch = str(unicodedata.decimal(ch))
        if category in ("Mn", "Me"):
            if _keeps_mark(base, ch):
                kept.append(ch)
            continue
        base = ch
        kept.append(ch)
    return unicodedata.normalize("NFKC", "".join(kept))


def _name_symbols(text: str) -> str:
    """Replace emoji and other pictographs by their Unicode names."""
    out = []
    for ch in text:
        if unicodedata.category(ch) == "So":
            name = unicodedata.name(ch, "").lower()
            out.append(" " + _SYMBOL_NAMES.get(name, name) + " ")
        else:
            out.append(ch)
    return "".join(out)


def _unconfuse(text: str) -> str:
    """Map look-alike letters to Latin in words that are mixed-script, or wholly look-alike in a
    text with no genuine Cyrillic or Greek: in Russian, "стекает" and "окну" are words, not
    disguised Latin ("ctekaet", "okhy" read as Tsonga)."""
    genuine = any(
        ch.isalpha() and ch not in _CONFUSABLES and _script(ch) in ("CYRILLIC", "GREEK")
        for ch in text
    )

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if not any(ch in _CONFUSABLES for ch in word):
            return word
        has_latin = any("a" <= ch <= "z" for ch in word)
        all_confusable = all(ch in _CONFUSABLES or not ch.isalpha() for ch in word)
        if has_latin or (all_confusable and not genuine):
            return "".join(_CONFUSABLES.get(ch, ch) for ch in word)
        return word  # a genuine Cyrillic or Greek word

    return re.sub(r"\w+", fix, text)


def _unleet(text: str) -> str:
    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        if _NUMBER_WITH_UNIT.match(token) or not any(ch in _LEET for ch in token):
            return token
        core = token.rstrip("!")  # "kill!" is emphasis, not leet
        return "".join(_LEET.get(ch, ch) for ch in core) + token[len(core) :]

    return _LEET_TOKEN.sub(fix, text)


def _segment(run: str, vocabulary: Collection[str] | None) -> str:
    """Split letters joined from a spaced-out run into the fewest known words, if possible."""
    if not vocabulary or run in vocabulary or len(run) > 40:
        return run
    best: list[list[str] | None] = [[]] + [None] * len(run)
    for end in range(1, len(run) + 1):
        for start in range(max(0, end - 20), end):
            prev = best[start]
            current = best[end]
            if (
                prev is not None
                and run[start:end] in vocabulary
                and (current is None or len(prev) + 1 < len(current))
            ):
                best[end] = [*prev, run[start:end]]
    return " ".join(best[-1]) if best[-1] else run


def _join_spaced(text: str, vocabulary: Collection[str] | None) -> str:
    return _SPACED_LETTERS.sub(
        lambda m: _segment(_SEPARATORS.sub("", m.group(0)), vocabulary), text
    )


def _squeeze_repeats(text: str, vocabulary: Collection[str] | None) -> str:
    """Collapse stretched letters (runs of 3+): to two, or to one where only that is a word."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if not _REPEATS.search(word):
            return word
        double = _REPEATS.sub(r"\1\1", word)
        if not vocabulary or double in vocabulary:
            return double
        single = _REPEATS.sub(r"\1", word)
        return single if single in vocabulary else double

    return re.sub(r"\w+", fix, text)


def light_normalise(text: str) -> str:
    """Case, Unicode compatibility forms and invisible characters only: meaning-preserving."""
    return " ".join(_strip_invisible(text).casefold().split())


def normalise_prompt(text: str, vocabulary: Collection[str] | None = None) -> str:
    """Undo cheap obfuscation; `vocabulary` (known words) lets stretched letters collapse fully."""
    text = _name_symbols(_strip_invisible(text)).casefold()
    text = _unconfuse(text)
    text = _unleet(text)
    text = _join_spaced(text, vocabulary)
    text = _squeeze_repeats(text, vocabulary)
    return " ".join(text.split())
