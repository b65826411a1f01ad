"""Recovery: jobs whose worker died, or that sit still, are handed on; leftovers are cleaned.

The outbox makes sure every recorded step has its next message. What it cannot see is a worker
that took a message and died: its lease on the job runs out, and the sweeper sends the message
for the job's current step again. The job's attempt count (kept by the lease) makes a job that
keeps killing its workers fail with a reason instead of looping.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from audit.records import TERMINAL_JOB_STATUSES, EventDraft
from audit.store import JobRecord
from streams.messages import ClipCleared, InputCleared, JobSubmitted, StreamMessage

from ..blobs import BlobUnavailable
from ..container import StageDeps
from ..metrics import RECOVERED
from ..services.abuse import purge_history
from ..services.appeal_state import keeps_clip_for_appeal
from .records import PUBLISHABLE_ACTIONS, generated_clip, outgoing

log = logging.getLogger("stillguard.recovery")
SWEEP_EVERY_S = 5.0


@dataclass
class SweepReport:
    """What one sweep did."""

    handed_on: int = 0
    cleaned: int = 0
    expired: int = 0
    history_purged: int = 0


def next_message(deps: StageDeps, job: JobRecord) -> StreamMessage:
    """The message that moves an active job on from what its audit trail records."""
    input_decision = deps.store.decision_for(job.id, "input")
    if input_decision is None or input_decision.action not in PUBLISHABLE_ACTIONS:
        return JobSubmitted(job_id=job.id)
    clip = generated_clip(deps, job.id)
    if clip is None:
        return InputCleared(job_id=job.id, decision_id=input_decision.decision_id or "")
    output_decision = deps.store.decision_for(job.id, "output")
    if output_decision is None or output_decision.action not in PUBLISHABLE_ACTIONS:
        return clip.message(job.id)
    fields = clip.message(job.id).model_dump(exclude={"schema_version"})
    return ClipCleared(**fields, decision_id=output_decision.decision_id or "")


def hand_on(deps: StageDeps, job_id: str, why: str) -> bool:
    """Send the message for an active job's current step again; False if it ended meanwhile."""
    job = deps.store.get_job(job_id)
    if job is None or job.status in TERMINAL_JOB_STATUSES:
        return False
    message = next_message(deps, job)
    deps.store.enqueue(outgoing(message))
    deps.store.leases.touch(job_id)
    RECOVERED.inc()
    log.warning("event=job-handed-on job_id=%s topic=%s why=%r", job_id, message.TOPIC, why)
    return True


def sweep(deps: StageDeps) -> SweepReport:
    """One pass: hand on jobs whose lease expired or that stalled; delete ended jobs' clips."""
    report = SweepReport()
    store = deps.store
    for job_id, owner, stage in store.leases.expired():
        # Only the sweeper that clears the lease hands the job on; a message still waiting in
        # the outbox (claimed by a relay that died) will be claimed again by itself.
        if store.leases.expire(job_id, owner) and not store.outbox.unsent_for(job_id):
            why = f"{stage}: worker {owner} stopped holding the job"
            report.handed_on += hand_on(deps, job_id, why)
    for job_id in store.leases.stalled(deps.settings.stall_s):
        report.handed_on += hand_on(deps, job_id, f"no progress for {deps.settings.stall_s:.0f} s")
    try:
        for job_id in deps.blobs.jobs_with_intermediates():
            job = store.get_job(job_id)
            ended = job is None or job.status in ("published", "refused", "failed")
            if ended and not (job and keeps_clip_for_appeal(job, deps.settings)):
                deps.blobs.delete_intermediates(job_id)
                report.cleaned += 1
        report.expired = expire_by_retention(deps)
    except BlobUnavailable as exc:  # the next sweep tries again
        log.warning("event=sweep-blobs-skipped error=%s", exc)
    report.history_purged = purge_history(deps)
    return report


def expire_by_retention(deps: StageDeps) -> int:
    """Delete the photo and signed clip of jobs that ended more than `retention_days` ago.

    The audit trail stays (it holds no media); each deletion is an audit event. A photo that a
    job still inside retention also uses (photos are stored by content) is kept.
    """
    days = deps.settings.retention_days
    if days is None:
        return 0
    before = datetime.now(UTC) - timedelta(days=days)
    expired = 0
    for job_id, input_blob, output_blob in deps.store.leases.expired_by_retention(before):
        deleted = [ref for ref in (output_blob,) if ref]
        if not deps.store.leases.input_still_kept(input_blob, before):
            deleted.append(input_blob)
        for ref in deleted:
            deps.blobs.delete(ref)
        deps.store.append(
            EventDraft(
                job_id=job_id,
                stage="retention",
                kind="blobs.expired",
                action="delete",
                reasons=[f"ended more than {days:g} days ago"],
                payload={"deleted": deleted},
                event_id=f"{job_id}-retention-expired",
            ),
            job_update={"blobs_expired_at": datetime.now(UTC)},
        )
        expired += 1
    return expired


class Sweeper:
    """Runs `sweep` at most every SWEEP_EVERY_S seconds; called from the relay's idle time."""

    def __init__(self, deps: StageDeps) -> None:
        self.deps = deps
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last >= SWEEP_EVERY_S:
            self._last = now
            sweep(self.deps)
