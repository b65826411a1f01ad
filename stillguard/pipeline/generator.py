"""Generator stage: the cleared photo becomes a labelled, watermarked clip, encoded once."""

from __future__ import annotations

import time
from dataclasses import replace

from audit.records import EventDraft
from generation import GenerationOptions
from provenance.fingerprint import clip_fingerprint
from provenance.label import burn_label, corner_clear_of
from provenance.watermark import embed_watermark
from safety.clip_sampling import SampledClip
from safety.photo_intake import load_photo
from safety.signals import Signal
from safety.video_checks import ClipReport
from streams.messages import InputCleared

from ..blobs import blob_ref
from ..container import StageDeps
from .frame_scan import encode_and_scan
from .records import (
    PUBLISHABLE_ACTIONS,
    GeneratedClip,
    StageError,
    active_job,
    elapsed_ms,
    face_boxes,
    generated_clip,
    outgoing,
    sha256_file,
)

# Measured on 2 cores for a 5 s 720p clip: ultrafast 1.05 s, veryfast 1.68 s (bench/generation.py);
# the clip is encoded once, and latency is what users feel.
ENCODER_PRESET = "ultrafast"


def generator(message: InputCleared, deps: StageDeps) -> None:
    """Turn the cleared photo into a labelled clip, encoded once, and hand it to the output gate."""
    job = active_job(deps, message.job_id)
    if job is None:
        return
    input_decision = deps.store.decision_for(job.id, "input")
    if input_decision is None:
        raise StageError("refusing to generate: no input decision is recorded for this job")
    if (
        input_decision.action not in PUBLISHABLE_ACTIONS
        or input_decision.decision_id != message.decision_id
    ):
        raise StageError(
            f"refusing to generate: the recorded input decision ({input_decision.action}) "
            "does not clear this message"
        )
    if generated_clip(deps, job.id) is not None:  # a redelivered message: made and sent on
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
    # the faces the input gate found (detected once): kept still, and the label kept clear of them
    faces = face_boxes(input_decision.signals)
    clip = deps.backend.generate(photo, options, timings=breakdown, faces=faces)
    timings["generation"] = elapsed_ms(start)
    start = time.perf_counter()
    corner = corner_clear_of(faces or [])
    burn_label(clip.frames, corner=corner)
    timings["label"] = elapsed_ms(start)
    # The durable marks go on before the single encode: the watermark carries the clip id the
    # repository allocated, the fingerprint is what a stripped copy will be matched against.
    start = time.perf_counter()
    clip_id = deps.repository.allocate_clip_id(job.id)
    embed_watermark(clip.frames, clip_id)
    timings["watermark"] = elapsed_ms(start)
    start = time.perf_counter()
    fingerprint = clip_fingerprint(clip.frames, clip.fps)
    timings["fingerprint"] = elapsed_ms(start)
    deps.on_progress(job.id, "encoding")
    start = time.perf_counter()
    clip_ref = blob_ref("clips", job.id, "labelled.mp4")
    approved = [Signal.from_dict(s) for s in input_decision.signals]

    def report(sampled: SampledClip) -> ClipReport:
        return deps.output_report(sampled, approved, photo)

    with deps.blobs.writing(clip_ref) as partial:  # readers never see a half-written clip
        # the output gate's checks run on these frames while they are encoded (frame_scan)
        scan = encode_and_scan(
            clip, partial, preset=ENCODER_PRESET, report=report, timings_ms=timings
        )
        clip_sha256 = sha256_file(partial)
    timings["encode_and_scan"] = elapsed_ms(start)
    generated = GeneratedClip.of(
        clip,
        options,
        label_corner=corner,
        generation_breakdown_ms=breakdown,
        clip_blob=clip_ref,
        clip_sha256=clip_sha256,
        clip_id=clip_id,
        fingerprint=fingerprint,
        timings_ms=timings,
        frame_scan=scan,
    )
    deps.store.append(
        EventDraft(
            job_id=job.id,
            stage="generation",
            kind="clip.generated",
            payload=generated.model_dump(mode="json"),
            event_id=f"{job.id}-generation-clip",
        ),
        outbox=outgoing(generated.message(job.id)),
    )
