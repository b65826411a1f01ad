"""Moderation as a service on its own (`stillguard check`, `POST /v1/check`): no generation.

A product team can moderate a photo, a prompt or any clip, including content Stillguard did not
generate, and get the same signals, segments and policy decision the pipeline would record.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from audit.records import DEFAULT_SURFACE
from generation import MediaError
from policies.pack import STAGES
from safety.signals import Signal

from ..container import StageDeps
from ..errors import CorruptMedia, InvalidInput
from .clips import sampled_mp4
from .intake import check_surface
from .media import checked_photo
from .media_limits import DecodeBudget, is_mp4
from .prompts import check_prompt


def check_content(
    deps: StageDeps,
    *,
    content: bytes | None,
    prompt: str | None,
    stage: str | None,
    surface: str = DEFAULT_SURFACE,
) -> dict[str, Any]:
    """Signals, segments and the decision for a photo, a prompt and/or a clip, made by the
    surface's active pack (as a job submitted on that surface would be decided).

    The stage defaults to `output` for clips and `input` otherwise. Raises InvalidInput for input a
    user must fix (nothing to check, unreadable media, an overlong prompt, a clip at the input
    stage, a surface with no active pack).
    """
    if not content and not prompt:
        raise InvalidInput("nothing_to_check", "give a photo, a clip or a prompt to check")
    check_prompt(prompt)
    check_surface(surface, deps.policies)
    is_clip = bool(content) and is_mp4(content or b"")
    stage = stage or ("output" if is_clip else "input")
    if stage not in STAGES:
        raise InvalidInput("invalid_stage", f"stage must be one of {', '.join(STAGES)}")
    if is_clip and stage == "input":
        raise InvalidInput("invalid_stage", "a clip is checked at the output stage")
    signals: list[Signal] = []
    segments: list[dict[str, Any]] = []
    if content and is_clip:
        signals, segments = _check_clip_bytes(deps, content)
    else:
        photo = checked_photo(content)[0] if content else None
        signals = deps.input_signals(photo, prompt)
    if is_clip and prompt:
        signals += deps.prompt_classifier.classify(prompt)
    pack = deps.policies.current(surface)
    decision = pack.decide(stage, signals, job_id=f"check-{uuid.uuid4().hex}")
    return {
        "decision": {k: v for k, v in decision.to_dict().items() if k != "rules_fired"},
        "signals": [_signal_view(s) for s in signals],
        "segments": segments,
    }


def _check_clip_bytes(deps: StageDeps, content: bytes) -> tuple[list[Signal], list[dict[str, Any]]]:
    budget = DecodeBudget.from_settings(deps.settings)
    budget.check_header(content)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(content)
        try:
            sampled = sampled_mp4(path, on_frame=budget, on_audio=budget.audio)
        except MediaError as exc:
            # The decoder names the file it read: a temp path of ours, not the caller's business.
            raise CorruptMedia("corrupt_media", str(exc).replace(str(path), "the clip")) from exc
    report = deps.output_report(sampled, [], None)
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
