"""What every stage reads and writes in the audit store: jobs, decisions, the generated clip.

Stages are safe to re-run on a redelivered message because they read what is recorded here
first; a decision or a clip is recorded once, under a deterministic event id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict

from audit.records import TERMINAL_JOB_STATUSES, EventDraft, OutgoingMessage
from audit.store import AuditQuery, JobRecord
from generation import GENERATOR_NAME, GENERATOR_VERSION, Clip, GenerationOptions
from policies.decision import Action, Decision
from safety.signals import Signal
from streams.messages import ClipGenerated, JobCompleted, ReviewRequested, StreamMessage

from ..blobs import BlobUnavailable, ref_owner
from ..container import StageDeps
from ..metrics import JOBS_ENDED
from ..observability import trace_headers
from ..services.abuse import record_outcome
from ..services.appeal_state import keeps_clip_for_appeal
from ..services.shadow import record_shadow
from .frame_scan import FrameScan
from .webhooks import webhook_delivery

log = logging.getLogger("stillguard.pipeline")

PUBLISHABLE_ACTIONS = frozenset({"allow", "label", "restrict"})
STATUS_FOR_ACTION = {"review": "held", "block": "refused"}


class StageError(RuntimeError):
    """A stage cannot go on for this job; the job ends `failed` with this message."""


def outgoing(*messages: StreamMessage) -> list[OutgoingMessage]:
    """Typed messages as outbox rows, written in the same transaction as what causes them."""
    headers = trace_headers()  # the job's trace goes on with its messages
    return [OutgoingMessage(m.TOPIC, m.job_id, m.payload(), headers) for m in messages]


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a perf_counter reading), as recorded in `timings_ms`."""
    return round((time.perf_counter() - start) * 1000, 1)


class GeneratedClip(BaseModel):
    """The payload of a job's `clip.generated` audit event: what was made, and how."""

    model_config = ConfigDict(frozen=True)

    backend: str
    backend_version: str
    generator: str
    generator_version: str
    options: dict[str, Any]
    scene: dict[str, Any]
    label_corner: str
    generation_breakdown_ms: dict[str, float]
    clip_blob: str
    clip_sha256: str
    clip_id: int
    fingerprint: list[str]
    frames: int
    timings_ms: dict[str, float]
    # the output gate's checks made on the frames as they were encoded (None: the gate decodes)
    frame_scan: FrameScan | None = None

    @classmethod
    def of(cls, clip: Clip, options: GenerationOptions, **made: Any) -> GeneratedClip:
        """The payload for a clip this generator made from `options`: what the clip says of
        itself (backend, scene, frame count) plus what the stage `made` of it (label corner,
        blob, id, fingerprint, timings); pydantic checks those against the fields above."""
        return cls(
            backend=clip.backend,
            backend_version=clip.backend_version,
            generator=GENERATOR_NAME,
            generator_version=GENERATOR_VERSION,
            options=options.to_dict(),
            scene=clip.scene,
            frames=int(clip.frames.shape[0]),
            **made,
        )

    def message(self, job_id: str) -> ClipGenerated:
        """The videos.generated message for this clip (also used to resume after review)."""
        return ClipGenerated(
            job_id=job_id,
            clip_blob=self.clip_blob,
            clip_sha256=self.clip_sha256,
            backend=self.backend,
            backend_version=self.backend_version,
        )


def active_job(deps: StageDeps, job_id: str) -> JobRecord | None:
    """The job a message is about, or None when it already ended (a redelivered message)."""
    job = deps.store.get_job(job_id)
    if job is None:
        raise StageError(f"job {job_id} does not exist")
    return None if job.status in TERMINAL_JOB_STATUSES else job


def record_decision(
    deps: StageDeps,
    job: JobRecord,
    decision: Decision,
    signals: list[Signal],
    payload: dict[str, Any],
    cleared: StreamMessage,
) -> None:
    """Record a stage's decision, the job's new state and what it sends next, in one commit.

    A decision that lets the job go on sends `cleared`; `review` holds the job and asks for a
    reviewer; `block` refuses it. Either way the job's end is announced (jobs.completed).
    """
    decisions = [d for d in (job.decisions or []) if d.get("stage") != decision.stage]
    update: dict[str, Any] = {"decisions": [*decisions, decision.to_dict()]}
    if decision.publishable:
        update["status"] = "running"
        messages = [cleared]
    else:
        status = STATUS_FOR_ACTION[decision.action]
        update |= {"status": status, "error": "; ".join(decision.reasons)}
        ended = JobCompleted(job_id=job.id, status=status)
        messages = [ended]
        if status == "held":
            reasons = list(decision.reasons)
            messages = [
                ReviewRequested(job_id=job.id, stage=decision.stage, reasons=reasons),
                ended,
            ]
    refused = update.get("status") == "refused"
    webhook = webhook_delivery(deps.store, job, "refused") if refused else []
    deps.store.append(
        EventDraft(
            job_id=job.id,
            stage=decision.stage,
            kind="decision",
            action=decision.action,
            policy_version=decision.policy_version,
            decision_id=decision.decision_id,
            reasons=list(decision.reasons),
            signals=[s.to_dict() for s in signals],
            payload={**payload, "unevaluated": list(decision.unevaluated)},
            event_id=f"{job.id}-{decision.stage}-decision",
        ),
        job_update=update,
        outbox=outgoing(*messages) + webhook,
    )
    if not decision.publishable:
        JOBS_ENDED.labels(status=update["status"]).inc()
    if refused:
        record_outcome(deps.store, job.id, refused=True)
        discard_unless_appealable(deps, job.id)


def recorded_decision(deps: StageDeps, job: JobRecord, stage: str) -> Decision | None:
    """The decision already recorded for this stage, so a re-run never decides twice."""
    event = deps.store.decision_for(job.id, stage)
    if event is None:
        return None
    return Decision(
        stage=stage,
        action=cast(Action, event.action),
        reasons=tuple(event.reasons),
        policy_version=event.policy_version or "",
        decision_id=event.decision_id or "",
        unevaluated=tuple((event.payload or {}).get("unevaluated") or ()),
    )


Evaluation = tuple[Decision, list[Signal], dict[str, Any]]


def gate(
    deps: StageDeps,
    job_id: str,
    stage: str,
    evaluate: Callable[[JobRecord], Evaluation],
    cleared: Callable[[str], StreamMessage],
) -> None:
    """Run a moderation gate once per job and record its decision with what follows from it.

    `cleared(decision_id)` is the message that moves a cleared job on. A redelivered message
    finds the decision recorded (with its messages, in the same commit) and does nothing.
    """
    job = active_job(deps, job_id)
    if job is None or recorded_decision(deps, job, stage) is not None:
        return
    deps.on_progress(job.id, f"{stage} gate")
    start = time.perf_counter()
    decision, signals, payload = evaluate(job)
    payload["timings_ms"] = {f"{stage}_gate": elapsed_ms(start)}
    record_decision(deps, job, decision, signals, payload, cleared(decision.decision_id))
    record_shadow(deps, job.id, stage, signals, decision, surface=job.surface)


def fail_job(deps: StageDeps, job_id: str, stage: str, error: str) -> None:
    """End a job `failed` with a reason and an audit event; used when a stage gives up."""
    job = deps.store.get_job(job_id)
    if job is None or job.status in TERMINAL_JOB_STATUSES:
        return
    deps.store.append(
        EventDraft(
            job_id=job_id,
            stage=stage,
            kind="job.failed",
            action="fail",
            reasons=[error],
            event_id=f"{job_id}-{stage}-failed",
        ),
        job_update={"status": "failed", "error": error},
        outbox=outgoing(JobCompleted(job_id=job_id, status="failed"))
        + webhook_delivery(deps.store, job, "failed"),
    )
    discard_intermediates(deps, job_id)
    JOBS_ENDED.labels(status="failed").inc()


def generated_clip(deps: StageDeps, job_id: str) -> GeneratedClip | None:
    """The job's recorded `clip.generated` payload, or None when no clip was made yet."""
    events = deps.store.events(AuditQuery(job_id=job_id, kind="clip.generated", limit=1))
    return GeneratedClip.model_validate(events[0].payload) if events else None


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def checked_clip(deps: StageDeps, job_id: str) -> Iterator[tuple[Path, GeneratedClip]]:
    """A local copy of the generated clip, once proven byte-for-byte the clip that was recorded."""
    generated = generated_clip(deps, job_id)
    if generated is None:
        raise StageError("no generated clip is recorded for this job")
    if ref_owner(generated.clip_blob) != job_id:
        raise StageError(f"the recorded clip {generated.clip_blob} belongs to another job")
    with deps.blobs.local_copy(generated.clip_blob) as path:
        if sha256_file(path) != generated.clip_sha256:
            raise StageError("the stored clip is not the clip that was generated and recorded")
        yield path, generated


def discard_intermediates(deps: StageDeps, job_id: str) -> None:
    """Delete an ended job's unsigned clips; if the store is down, the recovery sweep retries."""
    try:
        deps.blobs.delete_intermediates(job_id)
    except BlobUnavailable as exc:
        log.warning("event=intermediates-kept job_id=%s error=%s", job_id, exc)


def discard_unless_appealable(deps: StageDeps, job_id: str) -> None:
    """Delete a refused job's unsigned clip, unless an appeal may still overturn its refusal."""
    job = deps.store.get_job(job_id)
    if job is None or not keeps_clip_for_appeal(job, deps.settings):
        discard_intermediates(deps, job_id)


def face_boxes(signals: Sequence[dict[str, Any]]) -> list[list[float]] | None:
    """Face boxes (fractions of the photo) from the input gate's `faces.count` signal; None when
    the input gate could not look for faces (no evaluated signal), so the generator looks itself."""
    for signal in signals:
        if signal.get("category") == "faces.count" and signal.get("evaluated"):
            try:
                boxes = json.loads(signal.get("detail") or "{}").get("boxes_xywh", [])
            except json.JSONDecodeError:
                return None
            return [[float(v) for v in box] for box in boxes if len(box) == 4]
    return None


def approved_input_signals(deps: StageDeps, job_id: str) -> list[Signal]:
    """The signals the input decision approved, for the output gate's escalation check."""
    event = deps.store.decision_for(job_id, "input")
    return [Signal.from_dict(s) for s in (event.signals if event else [])]
