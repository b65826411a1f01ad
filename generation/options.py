"""Generation options: what a caller may ask of the generator, validated with errors that name the option."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

DURATION_RANGE = (1.0, 21.0)
FPS_RANGE = (8, 60)
SIDE_RANGE = (64, 3840)
MOTIONS = ("low", "medium", "high")
STYLES = ("calm", "dramatic", "dreamy")
SEED_RANGE = (0, 2**32 - 1)
MOTION_PROMPT_MAX_CHARS = 500
# Every frame is held in memory (the Clip contract); refuse clips whose raw frames would not fit.
MAX_FRAME_BYTES = 4 * 1024**3


class GenerationOptionError(ValueError):
    """An option is of the wrong type or outside its range; the message names the option and the range."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def _number(name: str, value: Any, *, integer: bool) -> float | int:
    """Reads a number from JSON-ish input (numbers, or numeric strings from form fields)."""
    if isinstance(value, bool):
        raise GenerationOptionError(name, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise GenerationOptionError(name, f"expected a number, got {value!r}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GenerationOptionError(name, f"expected a number, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise GenerationOptionError(name, f"expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise GenerationOptionError(name, f"expected true or false, got {value!r}")


def parse_size(value: Any) -> tuple[int, int]:
    """Parses "WIDTHxHEIGHT" (e.g. "1280x720") into (width, height)."""
    if not isinstance(value, str) or "x" not in value.lower():
        raise GenerationOptionError(
            "size", f'expected "WIDTHxHEIGHT" such as "1280x720", got {value!r}'
        )
    left, _, right = value.lower().partition("x")
    return (
        int(_number("size", left, integer=True)),
        int(_number("size", right, integer=True)),
    )


@dataclass(frozen=True)
class GenerationOptions:
    """What the generator makes: length, frame rate, size, motion, style, sound and seed."""

    duration_s: float = 5.0
    fps: int = 24
    width: int = 1280
    height: int = 720
    motion: str = "medium"
    style: str = "calm"
    audio: bool = True
    seed: int = 0
    loop: bool = False
    motion_prompt: str = ""
    # False holds faces still (a `restrict` decision sets it); True gives people subtle life,
    # hair, clothes and breathing, with each face moved only by the camera (procedural.people)
    face_motion: bool = True

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration_s * self.fps))

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def validate(self) -> None:
        """Raises GenerationOptionError naming the first option outside its allowed range."""
        lo, hi = DURATION_RANGE
        if (
            not isinstance(self.duration_s, (int, float))
            or isinstance(self.duration_s, bool)
            or not (math.isfinite(self.duration_s) and lo <= self.duration_s <= hi)
        ):
            raise GenerationOptionError(
                "duration_s", f"must be between {lo:g} and {hi:g} seconds, got {self.duration_s!r}"
            )
        lo_i, hi_i = FPS_RANGE
        if not _is_int(self.fps) or not lo_i <= self.fps <= hi_i:
            raise GenerationOptionError(
                "fps", f"must be a whole number from {lo_i} to {hi_i}, got {self.fps!r}"
            )
        lo_i, hi_i = SIDE_RANGE
        for name in ("width", "height"):
            value = getattr(self, name)
            if not _is_int(value) or not lo_i <= value <= hi_i or value % 2:
                raise GenerationOptionError(
                    name, f"must be an even number of pixels from {lo_i} to {hi_i}, got {value!r}"
                )
        if self.motion not in MOTIONS:
            raise GenerationOptionError(
                "motion", f"must be one of {', '.join(MOTIONS)}, got {self.motion!r}"
            )
        if self.style not in STYLES:
            raise GenerationOptionError(
                "style", f"must be one of {', '.join(STYLES)}, got {self.style!r}"
            )
        for name in ("audio", "loop", "face_motion"):
            if not isinstance(getattr(self, name), bool):
                raise GenerationOptionError(
                    name, f"must be true or false, got {getattr(self, name)!r}"
                )
        lo_i, hi_i = SEED_RANGE
        if not _is_int(self.seed) or not lo_i <= self.seed <= hi_i:
            raise GenerationOptionError(
                "seed", f"must be a whole number from {lo_i} to {hi_i}, got {self.seed!r}"
            )
        if (
            not isinstance(self.motion_prompt, str)
            or len(self.motion_prompt) > MOTION_PROMPT_MAX_CHARS
        ):
            raise GenerationOptionError(
                "motion_prompt", f"must be text of at most {MOTION_PROMPT_MAX_CHARS} characters"
            )
        frame_bytes = self.frame_count * self.width * self.height * 3
        if frame_bytes > MAX_FRAME_BYTES:
            raise GenerationOptionError(
                "duration_s",
                f"{self.duration_s:g} s at {self.fps} fps and {self.size} needs "
                f"{frame_bytes / 1024**3:.1f} GiB of frames; the limit is "
                f"{MAX_FRAME_BYTES / 1024**3:.0f} GiB (shorten the clip, lower fps or size)",
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationOptions:
        """Builds validated options from JSON-ish input; unknown keys and bad values raise."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise GenerationOptionError(
                "options", f"expected a JSON object, got {type(data).__name__}"
            )
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "size":
                if value is None:
                    continue
                width, height = parse_size(value)
                values.setdefault("width", width)
                values.setdefault("height", height)
                if "width" in data or "height" in data:
                    raise GenerationOptionError(
                        "size", "give either size or width/height, not both"
                    )
                continue
            if key not in known:
                allowed = ", ".join(sorted(known | {"size"}))
                raise GenerationOptionError(str(key), f"unknown option; the options are {allowed}")
            if value is None:
                continue
            if key == "duration_s":
                values[key] = _number(key, value, integer=False)
            elif key in ("fps", "width", "height", "seed"):
                values[key] = _number(key, value, integer=True)
            elif key in ("audio", "loop", "face_motion"):
                values[key] = _flag(key, value)
            elif key in ("motion", "style", "motion_prompt"):
                if not isinstance(value, str):
                    raise GenerationOptionError(key, f"expected text, got {value!r}")
                values[key] = value.strip() if key == "motion_prompt" else value.strip().lower()
        options = cls(**values)
        options.validate()
        return options

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
