"""Moderation as a service on its own (`stillguard check`, `POST /v1/check`): no generation.

A product team can moderate a photo, a prompt or any clip, including content Stillguard did not
generate, and get the same signals, segments and policy decision the pipeline would record.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from generation import MediaError, decode_mp4
from safety.photo_intake import BadImageError, load_photo
from safety.prompt_classifier import MAX_PROMPT_CHARS
from safety.signals import Signal

from .deps import StageDeps
from .wiring import BadRequest

STAGES = ("input", "output")


def _is_mp4(data: bytes) -> bool:
    return len(data) >= 12 and data[4:8] == b"ftyp"


def check_content(
    deps: StageDeps, *, content: bytes | None, prompt: str | None, stage: str | None
) -> dict[str, Any]:
    """Signals, segments and the decision for a photo, a prompt and/or a clip.

    The stage defaults to `output` for clips and `input` otherwise. Raises BadRequest for input a
    user must fix (nothing to check, unreadable media, an overlong prompt, a clip at the input stage).
    """
    if not content and not prompt:
        raise BadRequest("nothing_to_check", "give a photo, a clip or a prompt to check")
    if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(
            "prompt_too_long",
            f"prompt has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
        )
    is_clip = bool(content) and _is_mp4(content or b"")
    stage = stage or ("output" if is_clip else "input")
    if stage not in STAGES:
        raise BadRequest("invalid_stage", f"stage must be one of {', '.join(STAGES)}")
    if is_clip and stage == "input":
        raise BadRequest("invalid_stage", "a clip is checked at the output stage")
    signals: list[Signal] = []
    segments: list[dict[str, Any]] = []
    if content and is_clip:
        signals, segments = _check_clip_bytes(deps, content)
    else:
        photo = None
        if content:
            try:
                photo, _mime = load_photo(content)
            except BadImageError as exc:
                raise BadRequest(exc.code, str(exc), exc.http_status) from exc
        signals = deps.input_signals(photo, prompt)
    if is_clip and prompt:
        signals += deps.prompt_classifier.classify(prompt)
    decision = deps.policy.decide(stage, signals, job_id=f"check-{uuid.uuid4().hex}")
    return {
        "decision": {k: v for k, v in decision.to_dict().items() if k != "rules_fired"},
        "signals": [_signal_view(s) for s in signals],
        "segments": segments,
    }


def _check_clip_bytes(deps: StageDeps, content: bytes) -> tuple[list[Signal], list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(content)
        try:
            decoded = decode_mp4(path)
        except MediaError as exc:
            raise BadRequest("corrupt_media", str(exc), 422) from exc
    report = deps.output_report(decoded, [], None)
    return report.signals, [s.to_dict() for s in report.segments]


def _signal_view(signal: Signal) -> dict[str, Any]:
    return {
        "category": signal.category,
        "score": round(float(signal.score), 4),
        "model": signal.model,
        "start_s": signal.start_s,
        "end_s": signal.end_s,
        "evaluated": signal.evaluated,
        "detail": signal.detail,
    }
