"""Output gate: temporal checks on the generated clip (frames, flashes, escalation, audio)."""

from __future__ import annotations

import time

from generation import decode_mp4
from safety.photo_intake import load_photo
from streams.messages import ClipCleared, ClipGenerated

from ..container import StageDeps
from .records import (
    active_job,
    approved_input_signals,
    checked_clip_path,
    elapsed_ms,
    record_decision,
    recorded_decision,
    stop_unless_publishable,
)


def output_gate(message: ClipGenerated, deps: StageDeps) -> None:
    """Check the generated clip over time and record the output decision; clear or stop it."""
    job = active_job(deps, message.job_id)
    if job is None:
        return
    deps.on_progress(job.id, "output gate")
    decision = recorded_decision(deps, job, "output")
    if decision is None:
        start = time.perf_counter()
        clip_path, _generated = checked_clip_path(deps, job.id)
        decoded = decode_mp4(clip_path)
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        report = deps.output_report(decoded, approved_input_signals(deps, job.id), photo)
        decision = deps.policy.decide("output", report.signals, job_id=job.id)
        payload = {
            "segments": [s.to_dict() for s in report.segments],
            "frame_signals": [s.to_dict() for s in report.frame_signals],
            "timings_ms": {"output_gate": elapsed_ms(start)},
        }
        record_decision(deps, job, decision, report.signals, payload)
    if stop_unless_publishable(deps, job, decision):
        fields = message.model_dump(exclude={"schema_version"})
        deps.emit(ClipCleared(**fields, decision_id=decision.decision_id))
