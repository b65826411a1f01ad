"""Running whole jobs in this process: what `stillguard run` and the benchmarks call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from audit.records import TERMINAL_JOB_STATUSES
from audit.store import AuditQuery, AuditStore, JobRecord
from provenance.atomic import copy_atomic

from ..container import build_deps, usable_authority
from ..services.intake import JobRequest, submit_job
from ..settings import Settings
from .relay import OutboxRelay
from .runners import in_process_delivery


class TimedStore:
    """Delegates to the audit store and adds up the time spent writing to it."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self.write_ms = 0.0

    def _timed(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.write_ms += (time.perf_counter() - start) * 1000

        return call

    def __getattr__(self, name: str) -> Any:
        if name in ("append", "create_job", "update_job"):
            return self._timed(name)
        return getattr(self._store, name)


@dataclass
class JobTrail:
    """What a job's audit events say: per-stage timings, the signals and the clip's segments."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    signals: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    motion_plan: dict[str, Any] | None = None  # what the generator read from the prompt


def job_trail(store: AuditStore, job_id: str) -> JobTrail:
    """Read back a job's audit events into the figures, signals and motion `run --json` reports."""
    trail = JobTrail()
    for event in store.events(AuditQuery(job_id=job_id, limit=1000)):
        payload = event.payload or {}
        for name, value in payload.get("timings_ms", {}).items():
            trail.timings_ms[name] = trail.timings_ms.get(name, 0.0) + float(value)
        if event.kind == "decision":
            trail.signals += [{"stage": event.stage, **signal} for signal in event.signals]
            trail.segments += payload.get("segments", [])
        elif event.kind == "clip.generated":
            trail.motion_plan = payload.get("scene", {}).get("motion_prompt")
    return trail


@dataclass
class JobOutcome:
    """What `run` reports for one job."""

    job: JobRecord
    output: Path | None
    trail: JobTrail = field(default_factory=JobTrail)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job.id,
            "status": self.job.status,
            "decisions": [
                {
                    **{
                        k: d.get(k)
                        for k in ("stage", "action", "reasons", "policy_version", "decision_id")
                    },
                    "unevaluated": d.get("unevaluated") or [],
                }
                for d in (self.job.decisions or [])
            ],
            "output": str(self.output) if self.output else None,
            "error": self.job.error,
            "timings_ms": self.trail.timings_ms,
            "signals": self.trail.signals,
            "segments": self.trail.segments,
            "motion_plan": self.trail.motion_plan,
        }


class LocalRunner:
    """One process, one store, the whole journey per call; models load once and are reused."""

    def __init__(
        self,
        settings: Settings,
        store: AuditStore,
        on_progress: Callable[[str, str], None] | None = None,
    ) -> None:
        self._timed = TimedStore(store)
        # Typed as the store it stands in for: it delegates every call.
        self.deps = build_deps(settings, cast(AuditStore, self._timed))
        usable_authority(self.deps)  # a wrong passphrase fails now, not after generating
        if on_progress is not None:
            self.deps.on_progress = on_progress

    def finish(self, job_id: str) -> JobRecord:
        """Run the job's messages through the stages in this process until the job ends."""
        relay = OutboxRelay(self.deps, in_process_delivery(self.deps), batch=1, job_id=job_id)
        while True:
            job = self.deps.store.get_job(job_id)
            if job is None or job.status in TERMINAL_JOB_STATUSES:
                return cast(JobRecord, job)
            if not relay.run_once():
                time.sleep(0.05)  # another process (a `serve` on this HOME) has the message

    def run(self, request: JobRequest, out: Path | None) -> JobOutcome:
        """Submit, run every stage, and copy the signed clip to `out` if it was published."""
        self._timed.write_ms = 0.0
        started = time.perf_counter()
        job = self.finish(
            submit_job(self.deps.store, self.deps.blobs, request, policies=self.deps.policies).id
        )
        output = None
        if job.status == "published" and job.output_blob and out is not None:
            with self.deps.blobs.local_copy(job.output_blob) as signed:
                copy_atomic(signed, out)
            output = out
        trail = job_trail(self.deps.store, job.id)
        trail.timings_ms["audit"] = round(self._timed.write_ms, 1)
        trail.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        return JobOutcome(job=job, output=output, trail=trail)
