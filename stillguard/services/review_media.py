"""What a reviewer looks at: the input photo, the held labelled clip and its timeline of scores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from audit.policy_versions import PolicyVersions, UnknownPolicyVersion
from audit.records import AuditQuery, EventRecord, JobRecord
from policies.pack import PolicyPack

from ..blobs import BlobError
from ..container import StageDeps
from ..errors import Conflict, NotFound
from ..pipeline.records import generated_clip


@dataclass(frozen=True)
class MediaFile:
    """A blob on this machine's disk for the length of a block, and how to label it."""

    path: Path
    media_type: str
    filename: str


def reviewable_job(deps: StageDeps, job_id: str) -> JobRecord:
    """The job a reviewer asked for, or NotFound."""
    job = deps.store.get_job(job_id) if len(job_id) == 32 and job_id.isalnum() else None
    if job is None:
        raise NotFound("not_found", f"no job {job_id}")
    return job


@contextmanager
def input_photo(deps: StageDeps, job_id: str) -> Iterator[MediaFile]:
    """The submitted photo, typed by its own bytes (the store keeps no media type)."""
    job = reviewable_job(deps, job_id)
    if not job.input_blob:
        raise Conflict("no_input", f"job {job_id} keeps no input photo")
    with deps.blobs.local_copy(job.input_blob) as path:
        with Image.open(path) as image:
            media_type = Image.MIME.get(image.format or "", "application/octet-stream")
        yield MediaFile(path, media_type, f"{job.id}-input.{(image.format or 'bin').lower()}")


def held_clip(deps: StageDeps, job_id: str) -> AbstractContextManager[MediaFile]:
    """The labelled, unsigned clip a held job is waiting on (served to reviewers, never published)."""
    job = reviewable_job(deps, job_id)
    generated = generated_clip(deps, job.id)
    if generated is None:
        raise Conflict("no_clip", f"job {job_id} is {job.status} and has no generated clip")
    return _clip_file(deps, job, generated.clip_blob)


@contextmanager
def _clip_file(deps: StageDeps, job: JobRecord, ref: str) -> Iterator[MediaFile]:
    with ExitStack() as stack:
        try:
            path = stack.enter_context(deps.blobs.local_copy(ref))
        except BlobError as exc:  # discarded once the job ended: only signed clips are kept
            raise Conflict(
                "no_clip", f"job {job.id} is {job.status}; its unsigned clip is no longer kept"
            ) from exc
        yield MediaFile(path, "video/mp4", f"{job.id}-held.mp4")


def output_evaluation(deps: StageDeps, job_id: str) -> EventRecord | None:
    """The output gate's own decision event (the one with the timeline), not a reviewer's."""
    events = deps.store.events(
        AuditQuery(job_id=job_id, stage="output", kind="decision", limit=1000)
    )
    return next((e for e in events if "timeline" in (e.payload or {})), None)


def timeline(deps: StageDeps, job_id: str) -> dict[str, Any]:
    """Per-frame and per-segment scores of the clip with the thresholds the policy applied."""
    job = reviewable_job(deps, job_id)
    event = output_evaluation(deps, job.id)
    if event is None:
        raise Conflict("no_timeline", f"job {job_id} is {job.status}; its clip was not checked")
    payload = event.payload or {}
    generated = generated_clip(deps, job.id)
    pack = _pack_of(deps, event.policy_version)
    output_rules = pack.to_dict()["stages"].get("output", {}).get("rules", [])
    return {
        "job_id": job.id,
        "status": job.status,
        "decision_id": event.decision_id,
        "action": event.action,
        "reasons": list(event.reasons),
        "policy_version": event.policy_version,
        "thresholds_policy_version": pack.version,
        "thresholds": [
            {
                "rule": r["id"],
                "category": r["category"],
                "threshold": r["threshold"],
                "action": r["action"],
            }
            for r in output_rules
            if "threshold" in r and "category" in r
        ],
        "duration_s": _duration(generated.options if generated else {}, payload),
        "signals": list(event.signals),
        "frame_signals": list(payload.get("frame_signals", [])),
        "segments": list(payload.get("segments", [])),
        "timeline": list(payload.get("timeline", [])),
    }


def _pack_of(deps: StageDeps, version: str | None) -> PolicyPack:
    """The pack a decision was made with when it is stored, so thresholds match the decision;
    else the active pack (`thresholds_policy_version` says which)."""
    if version is None or version == deps.policy.version:
        return deps.policy
    try:
        stored = PolicyVersions(deps.store).get(version)
    except UnknownPolicyVersion:
        return deps.policy
    return PolicyPack.from_yaml(stored.body, source=f"policy version {version}")


def _duration(options: dict[str, Any], payload: dict[str, Any]) -> float | None:
    ends = [
        s.get("end_s")
        for key in ("frame_signals", "timeline", "segments")
        for s in payload.get(key, [])
        if isinstance(s.get("end_s"), int | float)
    ]
    stated = options.get("duration_s")
    return float(stated) if isinstance(stated, int | float) else (max(ends) if ends else None)
