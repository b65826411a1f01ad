"""The one check a prompt passes before any stage sees it (intake, `check`, the console)."""

from __future__ import annotations

from dataclasses import replace

from generation import GenerationOptions
from generation.options import MOTION_PROMPT_MAX_CHARS
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


def steered_by_prompt(prompt: str | None, options: GenerationOptions) -> GenerationOptions:
    """The options with the prompt as their motion prompt: one prompt both is moderated and
    steers motion. An explicit `options.motion_prompt` wins (it is moderated with the prompt,
    see `moderated_text`); motion is read from the prompt's first MOTION_PROMPT_MAX_CHARS."""
    if options.motion_prompt or not prompt or not prompt.strip():
        return options
    return replace(options, motion_prompt=prompt[:MOTION_PROMPT_MAX_CHARS].strip())


def moderated_text(prompt: str | None, motion_prompt: str | None) -> str | None:
    """All the text that steers a job, for the prompt classifier: the prompt, and an explicit
    motion prompt that is not part of it (no text steers the generator unread)."""
    if not motion_prompt or (prompt and motion_prompt in prompt):
        return prompt
    return f"{prompt}\n{motion_prompt}" if prompt else motion_prompt
