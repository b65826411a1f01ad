"""The pipeline's stages: plain functions of (message, dependencies) that the backends run.

The same functions run in-process for `stillguard run`/`serve` and behind Kafka consumers for
`stillguard worker`. Each stage records its decision or result in the audit store before it
publishes the next message, so nothing moves on without a record (fail closed). Stages are safe
to re-run on a redelivered message: they look at what the store already holds first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast

from PIL import Image

from audit.store import AuditQuery, JobRecord
from generation import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    GenerationOptions,
    decode_mp4,
    encode_mp4,
)
from policies.decision import Action, Decision
from provenance.fingerprint import clip_fingerprint
from provenance.label import burn_label, corner_clear_of
from provenance.sign import GenerationClaims, sign_clip, soft_bindings
from provenance.verify import verify_file
from provenance.watermark import embed_watermark
from safety.photo_intake import load_photo
from safety.signals import Signal
from streams import topics

from .deps import StageDeps
from .metrics import JOBS_ENDED

# Measured on 2 cores for a 5 s 720p clip: ultrafast 1.05 s, veryfast 1.68 s (bench/generation.py);
# the clip is encoded once, and latency is what users feel.
ENCODER_PRESET = "ultrafast"
PUBLISHABLE_ACTIONS = frozenset({"allow", "label", "restrict"})
TERMINAL_STATUSES = frozenset({"published", "refused", "held", "failed"})
STATUS_FOR_ACTION = {"review": "held", "block": "refused"}


class StageError(RuntimeError):
    """A stage cannot go on for this job; the job ends `failed` with this message."""


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _active_job(deps: StageDeps, message: dict[str, Any]) -> JobRecord | None:
    """The job a message is about, or None when it already ended (a redelivered message)."""
    job = deps.store.get_job(message["job_id"])
    if job is None:
        raise StageError(f"job {message['job_id']} does not exist")
    return None if job.status in TERMINAL_STATUSES else job


def _record_decision(
    deps: StageDeps, job: JobRecord, decision: Decision, signals: list[Signal], payload: dict
) -> None:
    deps.store.append(
        job_id=job.id,
        stage=decision.stage,
        kind="decision",
        action=decision.action,
        policy_version=decision.policy_version,
        decision_id=decision.decision_id,
        reasons=list(decision.reasons),
        signals=[s.to_dict() for s in signals],
        payload=payload,
        event_id=f"{job.id}-{decision.stage}-decision",
    )
    decisions = [d for d in (job.decisions or []) if d.get("stage") != decision.stage]
    deps.store.update_job(job.id, decisions=[*decisions, decision.to_dict()])


def _stop_unless_publishable(deps: StageDeps, job: JobRecord, decision: Decision) -> bool:
    """End the job when the decision does not let it go on; True when it may continue."""
    if decision.publishable:
        return True
    status = STATUS_FOR_ACTION[decision.action]
    deps.store.update_job(job.id, status=status, error="; ".join(decision.reasons))
    JOBS_ENDED.labels(status=status).inc()
    if status == "held":
        deps.publish(
            topics.REVIEWS,
            {"job_id": job.id, "stage": decision.stage, "reasons": list(decision.reasons)},
        )
    deps.publish(topics.JOBS_COMPLETED, {"job_id": job.id, "status": status})
    return False


def _existing_decision(deps: StageDeps, job: JobRecord, stage: str) -> Decision | None:
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
    )


def input_gate(message: dict[str, Any], deps: StageDeps) -> None:
    """Moderate the photo and the prompt, record the input decision, clear or stop the job."""
    job = _active_job(deps, message)
    if job is None:
        return
    deps.on_progress(job.id, "input gate")
    decision = _existing_decision(deps, job, "input")
    if decision is None:
        start = time.perf_counter()
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        signals = deps.input_signals(photo, job.prompt)
        decision = deps.policy.decide("input", signals, job_id=job.id)
        _record_decision(deps, job, decision, signals, {"timings_ms": {"input_gate": _ms(start)}})
        deps.store.update_job(job.id, status="running")
    if _stop_unless_publishable(deps, job, decision):
        deps.publish(
            topics.JOBS_INPUT_CLEARED, {"job_id": job.id, "decision_id": decision.decision_id}
        )


def generator(message: dict[str, Any], deps: StageDeps) -> None:
    """Turn the cleared photo into a labelled clip, encoded once, and hand it to the output gate."""
    job = _active_job(deps, message)
    if job is None:
        return
    input_decision = deps.store.decision_for(job.id, "input")
    if input_decision is None:
        raise StageError("refusing to generate: no input decision is recorded for this job")
    if (
        input_decision.action not in PUBLISHABLE_ACTIONS
        or input_decision.decision_id != message.get("decision_id")
    ):
        raise StageError(
            f"refusing to generate: the recorded input decision ({input_decision.action}) "
            "does not clear this message"
        )
    existing = generated_event(deps, job.id)
    if existing is not None:  # a redelivered message: the clip exists and may have been checked
        deps.publish(topics.VIDEOS_GENERATED, generated_message(job.id, existing.payload or {}))
        return
    deps.on_progress(job.id, "generating")
    options = GenerationOptions.from_dict(job.options)
    if input_decision.action == "restrict":
        # A `restrict` decision (e.g. real people in the photo) keeps faces still.
        options = replace(options, face_motion=False)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    photo, _mime = load_photo(deps.blobs.read(job.input_blob))
    breakdown: dict[str, float] = {}
    clip = deps.cached("backend", deps.backend_factory).generate(photo, options, timings=breakdown)
    timings["generation"] = _ms(start)
    start = time.perf_counter()
    corner = corner_clear_of(_face_boxes(input_decision.signals))
    burn_label(clip.frames, corner=corner)
    timings["label"] = _ms(start)
    # The durable marks go on before the single encode: the watermark carries the clip id the
    # repository allocated, the fingerprint is what a stripped copy will be matched against.
    start = time.perf_counter()
    clip_id = deps.repository.allocate_clip_id(job.id)
    embed_watermark(clip.frames, clip_id)
    timings["watermark"] = _ms(start)
    start = time.perf_counter()
    fingerprint = clip_fingerprint(clip.frames, clip.fps)
    timings["fingerprint"] = _ms(start)
    deps.on_progress(job.id, "encoding")
    start = time.perf_counter()
    clip_ref = deps.blobs.ref("clips", job.id, "labelled.mp4")
    target = deps.blobs.new_path(clip_ref)
    partial = target.with_name(".partial-labelled.mp4")
    encode_mp4(clip, partial, preset=ENCODER_PRESET)
    clip_sha256 = _sha256_file(partial)
    os.replace(partial, target)  # readers never see a half-written clip
    timings["encode"] = _ms(start)
    payload = {
        "backend": clip.backend,
        "backend_version": clip.backend_version,
        "generator": GENERATOR_NAME,
        "generator_version": GENERATOR_VERSION,
        "options": options.to_dict(),
        "scene": clip.scene,
        "label_corner": corner,
        "generation_breakdown_ms": breakdown,
        "clip_blob": clip_ref,
        "clip_sha256": clip_sha256,
        "clip_id": clip_id,
        "fingerprint": fingerprint,
        "frames": int(clip.frames.shape[0]),
        "timings_ms": timings,
    }
    generated = deps.store.append(
        job_id=job.id,
        stage="generation",
        kind="clip.generated",
        payload=payload,
        event_id=f"{job.id}-generation-clip",
    )
    deps.publish(topics.VIDEOS_GENERATED, generated_message(job.id, generated.payload or {}))


def generated_message(job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The videos.generated message for a recorded clip (also used to resume after review)."""
    return {
        "job_id": job_id,
        "clip_blob": payload.get("clip_blob"),
        "clip_sha256": payload.get("clip_sha256"),
        "backend": payload.get("backend"),
        "backend_version": payload.get("backend_version"),
    }


def _sha256_file(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checked_clip_path(deps: StageDeps, job_id: str) -> tuple[Any, dict[str, Any]]:
    """The generated clip's path, after proving it is byte-for-byte the clip that was recorded."""
    generated = generated_event(deps, job_id)
    if generated is None:
        raise StageError("no generated clip is recorded for this job")
    payload = generated.payload or {}
    path = deps.blobs.path(payload["clip_blob"])
    if _sha256_file(path) != payload.get("clip_sha256"):
        raise StageError("the clip on disk is not the clip that was generated and recorded")
    return path, payload


def _face_boxes(signals: Sequence[dict[str, Any]]) -> list[list[float]]:
    """Face boxes (fractions of the photo) from the input gate's `faces.count` signal."""
    for signal in signals:
        if signal.get("category") == "faces.count" and signal.get("evaluated"):
            try:
                return list(json.loads(signal.get("detail") or "{}").get("boxes_xywh", []))
            except json.JSONDecodeError:
                return []
    return []


def _input_signals(deps: StageDeps, job_id: str) -> list[Signal]:
    event = deps.store.decision_for(job_id, "input")
    return [Signal.from_dict(s) for s in (event.signals if event else [])]


def output_gate(message: dict[str, Any], deps: StageDeps) -> None:
    """Check the generated clip over time (frames, flashes, escalation) and record the decision."""
    job = _active_job(deps, message)
    if job is None:
        return
    deps.on_progress(job.id, "output gate")
    decision = _existing_decision(deps, job, "output")
    if decision is None:
        start = time.perf_counter()
        clip_path, _generated = _checked_clip_path(deps, job.id)
        decoded = decode_mp4(clip_path)
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        report = deps.output_report(decoded, _input_signals(deps, job.id), photo)
        decision = deps.policy.decide("output", report.signals, job_id=job.id)
        payload = {
            "segments": [s.to_dict() for s in report.segments],
            "frame_signals": [s.to_dict() for s in report.frame_signals],
            "timings_ms": {"output_gate": _ms(start)},
        }
        _record_decision(deps, job, decision, report.signals, payload)
    if _stop_unless_publishable(deps, job, decision):
        deps.publish(
            topics.VIDEOS_CLEARED,
            {**message, "decision_id": decision.decision_id},
        )


def _thumbnail_jpeg(frame: Any) -> bytes:

    image = Image.fromarray(frame)
    image.thumbnail((320, 320))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def provenance(message: dict[str, Any], deps: StageDeps) -> None:
    """Sign the cleared clip, prove the signature verifies, and publish it; never ship unsigned."""
    job = _active_job(deps, message)
    if job is None:
        return
    output_decision = deps.store.decision_for(job.id, "output")
    if output_decision is None or output_decision.decision_id != message.get("decision_id"):
        raise StageError("refusing to sign: the output decision is not recorded in the audit store")
    if output_decision.action not in PUBLISHABLE_ACTIONS:
        raise StageError(f"refusing to sign: the output decision is {output_decision.action}")
    input_decision = deps.store.decision_for(job.id, "input")
    if input_decision is None or input_decision.action not in PUBLISHABLE_ACTIONS:
        raise StageError("refusing to sign: the input decision does not clear this job")
    published = deps.store.events(AuditQuery(job_id=job.id, kind="published", limit=1))
    if published:  # signed and recorded before a crash: finish the job, do not sign again
        output_ref = (published[0].payload or {})["output_blob"]
        _finish_published(deps, job.id, output_ref)
        return
    deps.on_progress(job.id, "signing")
    start = time.perf_counter()
    labelled, generated = _checked_clip_path(deps, job.id)
    signed_ref = deps.blobs.ref("outputs", job.id, "signed.mp4")
    signed = deps.blobs.new_path(signed_ref)
    options = GenerationOptions.from_dict(job.options)
    claims = GenerationClaims(
        job_id=job.id,
        decision_id=str(output_decision.decision_id),
        policy_version=str(output_decision.policy_version),
        generator=GENERATOR_NAME,
        generator_version=GENERATOR_VERSION,
        backend=f"{message.get('backend', 'unknown')}@{message.get('backend_version', '?')}",
        parameters=options.to_dict(),
    )
    clip_id, fingerprint = generated.get("clip_id"), generated.get("fingerprint") or []
    if clip_id is None:
        raise StageError("refusing to sign: the clip has no registered watermark id")
    first_frame = decode_first_frame(labelled)
    label = sign_clip(
        deps.authority,
        labelled,
        signed,
        photo=deps.blobs.path(job.input_blob),
        claims=claims,
        thumbnail_jpeg=_thumbnail_jpeg(first_frame),
        soft_binding=soft_bindings(clip_id, fingerprint),
    )
    sign_ms = _ms(start)
    start = time.perf_counter()
    report = verify_file(signed, deps.trust_anchors())
    if report.status != "valid":
        signed.unlink(missing_ok=True)
        raise StageError(f"signed clip did not verify ({report.status}: {report.message})")
    deps.repository.register(
        clip_id=clip_id, job_id=job.id, fingerprint=fingerprint, signed_clip=signed
    )
    deps.store.append(
        job_id=job.id,
        stage="provenance",
        kind="published",
        action="publish",
        policy_version=output_decision.policy_version,
        decision_id=output_decision.decision_id,
        payload={
            "manifest_label": label,
            "clip_id": clip_id,
            "output_blob": signed_ref,
            "input_decision_id": input_decision.decision_id if input_decision else None,
            "verify_status": report.status,
            "timings_ms": {"sign": sign_ms, "verify": _ms(start)},
        },
        event_id=f"{job.id}-provenance-published",
    )
    _finish_published(deps, job.id, signed_ref)


def _finish_published(deps: StageDeps, job_id: str, output_ref: str) -> None:
    deps.store.update_job(job_id, status="published", output_blob=output_ref)
    JOBS_ENDED.labels(status="published").inc()
    deps.publish(
        topics.JOBS_COMPLETED, {"job_id": job_id, "status": "published", "output_blob": output_ref}
    )


def generated_event(deps: StageDeps, job_id: str) -> Any:
    """The job's `clip.generated` audit event, or None."""
    events = deps.store.events(AuditQuery(job_id=job_id, kind="clip.generated", limit=1))
    return events[0] if events else None


def decode_first_frame(path: Any) -> Any:
    """First frame of a clip as an RGB array, for the manifest thumbnail."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return frame.to_ndarray(format="rgb24")
    raise StageError(f"clip {path} has no frames")


def fail_job(deps: StageDeps, job_id: str, stage: str, error: str) -> None:
    """End a job `failed` with a reason and an audit event; used when a stage gives up."""
    job = deps.store.get_job(job_id)
    if job is None or job.status in TERMINAL_STATUSES:
        return
    deps.store.append(
        job_id=job_id,
        stage=stage,
        kind="job.failed",
        action="fail",
        reasons=[error],
        event_id=f"{job_id}-{stage}-failed",
    )
    deps.store.update_job(job_id, status="failed", error=error)
    JOBS_ENDED.labels(status="failed").inc()


STAGES: dict[str, tuple[str, Callable[[dict[str, Any], StageDeps], None]]] = {
    "input-gate": (topics.JOBS_SUBMITTED, input_gate),
    "generator": (topics.JOBS_INPUT_CLEARED, generator),
    "output-gate": (topics.VIDEOS_GENERATED, output_gate),
    "provenance": (topics.VIDEOS_CLEARED, provenance),
}
