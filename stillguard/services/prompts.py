"""The one check a prompt passes before any stage sees it (intake, `check`, the console)."""

from __future__ import annotations

import re

from safety.prompt_classifier import MAX_PROMPT_CHARS

from ..errors import InvalidInput

# C0 controls other than tab, newline and carriage return, and DEL: never meaningful in a prompt,
# and NUL cannot be stored in PostgreSQL text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_prompt(prompt: str | None) -> None:
    """Refuse a prompt over the classifier's limit or with control characters (e.g. NUL)."""
    if prompt is None:
        return
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            "prompt_too_long",
            f"prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
        )
    if CONTROL_CHARACTERS.search(prompt):
        raise InvalidInput("invalid_prompt", "prompt contains control characters (e.g. NUL)")
