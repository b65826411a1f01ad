"""Which language a prompt is in, and whether any prompt model covers it.

Lingua (its n-gram models ship in the wheel) picks among the languages listed in
safety/prompt_categories.yaml: those the multilingual model covers and was measured on, their
close neighbours (so short prompts are not forced into a wrong covered language), and the
languages no model here was trained on. A prompt is unsupported when lingua's best guess is an
uncovered language and lingua is sure of it (that language alone holds `unsupported_leading` of
its confidence, or the uncovered ones together `unsupported_share`), or when it has letters yet
no listed language fits them (a script nobody here reads); the policy's `unsupported_language`
action then applies.

Text in an uncovered language gets a decisive guess (Zulu, Shona, Sesotho, Tsonga, Luganda:
0.84-1.0; Maori and Yoruba ~0.7). A covered language's short sentence can get a diffuse one whose
many small uncovered shares add up: "le chien remue la queue" was 32 % Shona, 29 % French and
51 % uncovered in all; that is lingua unsure, not an uncovered language, and E5 reads it.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from safety.signals import UNSUPPORTED_LANGUAGE, Signal


@dataclass(frozen=True)
class LanguageGuess:
    """Lingua's best guess for a prompt and the confidence it gives the uncovered languages."""

    code: str  # ISO 639-1, or "und" when no listed language fits
    confidence: float
    uncovered_confidence: float
    has_letters: bool
    words: int = 0

    @property
    def identified(self) -> bool:
        """True when some listed language fits the prompt."""
        return self.code != "und"


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def model_id() -> str:
    """The language identifier's name and version, as its signal carries it."""
    return f"lingua@{version('lingua-language-detector')}"


class LanguageIdentifier:
    """Lingua over a fixed list of languages; models load lazily, per script, on first use."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        self.covered = frozenset(spec["covered"])
        self.uncovered = frozenset(spec["uncovered"])
        self.evaluated = tuple(spec["evaluated"])
        self._share = float(spec.get("unsupported_share", 0.75))
        self._leading = float(spec.get("unsupported_leading", 0.5))
        # A few words say little about their language ("gentle waves" reads 35% Sesotho): below
        # `short_words` an uncovered language must be the decisive guess, not a share.
        self._short_words = int(spec.get("short_words", 4))
        self._decisive = float(spec.get("short_decisive", 0.75))
        codes = sorted(self.covered | self.uncovered)
        isos = [getattr(IsoCode639_1, code.upper()) for code in codes]
        self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()
        self.model = model_id()

    def identify(self, text: str) -> LanguageGuess:
        """The most likely listed language and the share of confidence on uncovered ones."""
        values = self._detector.compute_language_confidence_values(text)
        ranked = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]
        ranked = [(code, value) for code, value in ranked if value > 0.0]
        uncovered = sum(value for code, value in ranked if code in self.uncovered)
        code, confidence = ranked[0] if ranked else ("und", 0.0)
        words = len(text.split())
        return LanguageGuess(
            code, round(confidence, 3), round(uncovered, 3), _has_letters(text), words
        )

    def signal(self, guess: LanguageGuess) -> Signal:
        """`prompt.language.unsupported`: 1.0 when no prompt model covers the prompt's language."""
        uncovered = guess.code in self.uncovered and (
            guess.confidence >= self._leading or guess.uncovered_confidence >= self._share
        )
        if guess.words < self._short_words:
            uncovered = guess.code in self.uncovered and guess.confidence >= self._decisive
        unsupported = uncovered or (guess.has_letters and not guess.identified)
        if not guess.has_letters:
            why = "no letters to identify"
        elif not guess.identified:
            why = "no listed language fits its letters (an unidentified script or language)"
        elif unsupported:
            why = f"most likely {guess.code}, which no prompt model covers"
        else:
            why = f"most likely {guess.code}, covered"
        detail = json.dumps(
            {
                "language": guess.code,
                "confidence": guess.confidence,
                "uncovered_confidence": guess.uncovered_confidence,
                "evaluated": guess.code in self.evaluated,
                "why": why,
            }
        )
        return Signal(UNSUPPORTED_LANGUAGE, 1.0 if unsupported else 0.0, self.model, detail=detail)
