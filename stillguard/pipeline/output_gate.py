"""Output gate: temporal checks on the generated clip (frames, flashes, escalation, audio)."""

from __future__ import annotations

from typing import Any

from audit.store import JobRecord
from safety.photo_intake import load_photo
from safety.signals import Signal
from streams.messages import ClipCleared, ClipGenerated

from ..container import StageDeps
from ..services.clips import sampled_mp4
from .frame_scan import report_findings
from .records import Evaluation, approved_input_signals, checked_clip, gate


def output_gate(message: ClipGenerated, deps: StageDeps) -> None:
    """Check the generated clip over time and record the output decision; clear or stop it."""

    def evaluate(job: JobRecord) -> Evaluation:
        with checked_clip(deps, job.id) as (clip_path, generated):
            scan = generated.frame_scan
            mismatch = "no frame scan was recorded" if scan is None else scan.mismatch(clip_path)
            if scan is not None and mismatch is None:
                how = "scanned as encoded; the file's keyframes match"
                return decided(job, scan.policy_signals(), scan.findings, how)
            sampled = sampled_mp4(clip_path)
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        report = deps.output_report(sampled, approved_input_signals(deps, job.id), photo)
        return decided(job, report.signals, report_findings(report), f"decoded: {mismatch}")

    def decided(
        job: JobRecord, signals: list[Signal], findings: dict[str, Any], frames_checked: str
    ) -> Evaluation:
        payload = {"frames_checked": frames_checked, **findings}
        pack = deps.policies.current(job.surface)
        return pack.decide("output", signals, job_id=job.id), signals, payload

    def cleared(decision_id: str) -> ClipCleared:
        fields = message.model_dump(exclude={"schema_version"})
        return ClipCleared(**fields, decision_id=decision_id)

    gate(deps, message.job_id, "output", evaluate, cleared)
