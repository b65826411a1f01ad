"""Input gate: moderate the photo and the prompt, record the input decision, clear or stop."""

from __future__ import annotations

from audit.store import JobRecord
from safety.photo_intake import load_photo
from streams.messages import InputCleared, JobSubmitted

from ..container import StageDeps
from ..services.abuse import history_signals_for
from ..services.prompts import moderated_text
from .records import Evaluation, gate


def input_gate(message: JobSubmitted, deps: StageDeps) -> None:
    """Moderate the photo and the prompt, and weigh the submitter's history (near-duplicates
    of its refused photos and prompts, refusal counts): record the decision, clear or stop."""

    def evaluate(job: JobRecord) -> Evaluation:
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        # the prompt, and an explicit motion prompt that overrides it: all text that steers
        text = moderated_text(job.prompt, (job.options or {}).get("motion_prompt"))
        signals = deps.input_signals(photo, text) + history_signals_for(deps, job, photo, text)
        return (
            deps.policies.current(job.surface).decide("input", signals, job_id=job.id),
            signals,
            {},
        )

    def cleared(decision_id: str) -> InputCleared:
        return InputCleared(job_id=message.job_id, decision_id=decision_id)

    gate(deps, message.job_id, "input", evaluate, cleared)
