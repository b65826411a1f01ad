"""The typed signal every classifier produces, so policies can be written without knowing models."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Raised by the prompt classifier when no prompt model covers the prompt's language; policies
# answer it with their stage's `unsupported_language` action (never a silent allow).
UNSUPPORTED_LANGUAGE = "prompt.language.unsupported"


@dataclass(frozen=True)
class Signal:
    """One classifier's judgement of one thing: a category, a score in [0, 1] and who said it.

    `evaluated=False` means the classifier could not run for this category (no model configured);
    the score is then meaningless and policies must treat the category as unknown, never as safe.
    Video signals carry the time range they cover.
    """

    category: str
    score: float
    model: str
    start_s: float | None = None
    end_s: float | None = None
    evaluated: bool = True
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, as stored in audit events and printed by `--json`."""
        return asdict(self)

    @classmethod
    def spanning(
        cls, category: str, score: float, model: str, start_s: float, end_s: float, detail: str
    ) -> Signal:
        """A signal about the stretch start_s..end_s of a clip, score to 4 places and times to
        the millisecond, as reports show them."""
        return cls(
            category,
            round(score, 4),
            model,
            start_s=round(start_s, 3),
            end_s=round(end_s, 3),
            detail=detail,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        """Inverse of `to_dict`, tolerant of extra keys written by newer versions (and of the
        optional fields missing from older ones). Spelt out field by field: a backtest calls
        it for every signal of a million recorded decisions."""
        get = data.get
        return cls(
            data["category"],
            data["score"],
            data["model"],
            get("start_s"),
            get("end_s"),
            get("evaluated", True),
            get("detail", ""),
        )


@dataclass(frozen=True)
class Segment:
    """A stretch of a clip where one category stayed above its threshold."""

    category: str
    start_s: float
    end_s: float
    peak: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)
