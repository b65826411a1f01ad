"""Provenance stage: sign the cleared clip, prove the signature verifies, publish; never unsigned."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from audit.records import EventDraft
from generation import GENERATOR_NAME, GENERATOR_VERSION, GenerationOptions
from provenance.sign import GenerationClaims, sign_clip, soft_bindings
from provenance.verify import verify_file
from streams.messages import ClipCleared, JobCompleted

from ..blobs import blob_ref
from ..container import StageDeps
from ..metrics import JOBS_ENDED
from .records import (
    PUBLISHABLE_ACTIONS,
    StageError,
    active_job,
    checked_clip,
    discard_intermediates,
    elapsed_ms,
    outgoing,
)
from .webhooks import webhook_delivery


def sign_and_publish(message: ClipCleared, deps: StageDeps) -> None:
    """Sign the cleared clip, prove the signature verifies, and publish it; never ship unsigned."""
    job = active_job(deps, message.job_id)
    if job is None:
        return
    output_decision = deps.store.decision_for(job.id, "output")
    if output_decision is None or output_decision.decision_id != message.decision_id:
        raise StageError("refusing to sign: the output decision is not recorded in the audit store")
    if output_decision.action not in PUBLISHABLE_ACTIONS:
        raise StageError(f"refusing to sign: the output decision is {output_decision.action}")
    input_decision = deps.store.decision_for(job.id, "input")
    if input_decision is None or input_decision.action not in PUBLISHABLE_ACTIONS:
        raise StageError("refusing to sign: the input decision does not clear this job")
    deps.on_progress(job.id, "signing")
    claims = GenerationClaims(
        job_id=job.id,
        decision_id=str(output_decision.decision_id),
        policy_version=str(output_decision.policy_version),
        generator=GENERATOR_NAME,
        generator_version=GENERATOR_VERSION,
        backend=f"{message.backend}@{message.backend_version}",
        parameters=GenerationOptions.from_dict(job.options).to_dict(),
    )
    signed_ref = blob_ref("outputs", job.id, "signed.mp4")
    timings: dict[str, float] = {}
    # The signed clip is stored only if it verifies: a failure leaves nothing under its reference.
    with (
        checked_clip(deps, job.id) as (labelled, generated),
        deps.blobs.local_copy(job.input_blob) as photo,
        deps.blobs.writing(signed_ref) as signed,
    ):
        start = time.perf_counter()
        label = sign_clip(
            deps.authority,
            labelled,
            signed,
            photo=photo,
            claims=claims,
            thumbnail_jpeg=_thumbnail_jpeg(decode_first_frame(labelled)),
            soft_binding=soft_bindings(generated.clip_id, generated.fingerprint),
        )
        timings["sign"] = elapsed_ms(start)
        start = time.perf_counter()
        report = verify_file(signed, deps.trust_anchors())
        if report.status != "valid":
            raise StageError(f"signed clip did not verify ({report.status}: {report.message})")
        deps.repository.register(
            clip_id=generated.clip_id,
            job_id=job.id,
            fingerprint=generated.fingerprint,
            signed_clip=signed,
        )
        timings["verify"] = elapsed_ms(start)
    deps.store.append(
        EventDraft(
            job_id=job.id,
            stage="provenance",
            kind="published",
            action="publish",
            policy_version=output_decision.policy_version,
            decision_id=output_decision.decision_id,
            payload={
                "manifest_label": label,
                "clip_id": generated.clip_id,
                "output_blob": signed_ref,
                "input_decision_id": input_decision.decision_id,
                "verify_status": report.status,
                "timings_ms": timings,
            },
            event_id=f"{job.id}-provenance-published",
        ),
        job_update={"status": "published", "output_blob": signed_ref},
        outbox=outgoing(JobCompleted(job_id=job.id, status="published", output_blob=signed_ref))
        + webhook_delivery(deps.store, job, "published"),
    )
    discard_intermediates(deps, job.id)
    JOBS_ENDED.labels(status="published").inc()


def _thumbnail_jpeg(frame: np.ndarray) -> bytes:
    image = Image.fromarray(frame)
    image.thumbnail((320, 320))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def decode_first_frame(path: Path) -> np.ndarray:
    """First frame of a clip as an RGB array, for the manifest thumbnail."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return frame.to_ndarray(format="rgb24")
    raise StageError(f"clip {path.name} has no frames")
