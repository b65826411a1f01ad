"""The one check a prompt passes before any stage sees it (intake, `check`, the console)."""

from __future__ import annotations

from safety.prompt_classifier import MAX_PROMPT_CHARS

from ..errors import InvalidInput
from .input_limits import has_control_characters


def check_prompt(prompt: str | None) -> None:
    """Refuse a prompt over the classifier's limit or with control characters (e.g. NUL)."""
    if prompt is None:
        return
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            "prompt_too_long",
            f"prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
        )
    if has_control_characters(prompt):
        raise InvalidInput("invalid_prompt", "prompt contains control characters (e.g. NUL)")
