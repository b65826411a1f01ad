"""Input gate: moderate the photo and the prompt, record the input decision, clear or stop."""

from __future__ import annotations

import time

from safety.photo_intake import load_photo
from streams.messages import InputCleared, JobSubmitted

from ..container import StageDeps
from .records import (
    active_job,
    elapsed_ms,
    record_decision,
    recorded_decision,
    stop_unless_publishable,
)


def input_gate(message: JobSubmitted, deps: StageDeps) -> None:
    """Moderate the photo and the prompt, record the input decision, clear or stop the job."""
    job = active_job(deps, message.job_id)
    if job is None:
        return
    deps.on_progress(job.id, "input gate")
    decision = recorded_decision(deps, job, "input")
    if decision is None:
        start = time.perf_counter()
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        signals = deps.input_signals(photo, job.prompt)
        decision = deps.policy.decide("input", signals, job_id=job.id)
        timings = {"timings_ms": {"input_gate": elapsed_ms(start)}}
        record_decision(deps, job, decision, signals, timings)
        deps.store.update_job(job.id, status="running")
    if stop_unless_publishable(deps, job, decision):
        deps.emit(InputCleared(job_id=job.id, decision_id=decision.decision_id))
