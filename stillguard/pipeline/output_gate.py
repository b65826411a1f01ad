"""Output gate: temporal checks on the generated clip (frames, flashes, escalation, audio)."""

from __future__ import annotations

from audit.store import JobRecord
from safety.photo_intake import load_photo
from streams.messages import ClipCleared, ClipGenerated

from ..container import StageDeps
from ..services.clips import sampled_mp4
from .records import Evaluation, approved_input_signals, checked_clip, gate


def output_gate(message: ClipGenerated, deps: StageDeps) -> None:
    """Check the generated clip over time and record the output decision; clear or stop it."""

    def evaluate(job: JobRecord) -> Evaluation:
        with checked_clip(deps, job.id) as (clip_path, _generated):
            sampled = sampled_mp4(clip_path)
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        report = deps.output_report(sampled, approved_input_signals(deps, job.id), photo)
        payload = {
            "segments": [s.to_dict() for s in report.segments],
            "timeline": [s.to_dict() for s in report.timeline],  # below thresholds too
            "frame_signals": [s.to_dict() for s in report.frame_signals],
        }
        pack = deps.policies.current(job.surface)
        return pack.decide("output", report.signals, job_id=job.id), report.signals, payload

    def cleared(decision_id: str) -> ClipCleared:
        fields = message.model_dump(exclude={"schema_version"})
        return ClipCleared(**fields, decision_id=decision_id)

    gate(deps, message.job_id, "output", evaluate, cleared)
