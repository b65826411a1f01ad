"""Job intake: validate a request, store the photo, record the job and hand it to the pipeline."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from audit.records import DEFAULT_SURFACE, EventDraft
from audit.store import AuditStore, IdempotencyConflict, JobRecord
from generation import GenerationOptions
from generation.options import DURATION_RANGE
from streams.messages import JobSubmitted

from ..blobs import BlobStore, BlobUnavailable, blob_ref
from ..errors import Conflict, InvalidInput, NotFound, Unavailable
from ..observability import job_span
from ..pipeline.records import outgoing
from .abuse import Quota, check_quota, remember_submission
from .live_config import LivePolicies, checked_surface
from .media import checked_photo
from .prompts import check_prompt, moderated_text, steered_by_prompt

EXTENSION_FOR_MIME = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


@dataclass(frozen=True)
class JobRequest:
    """A generation request as it arrives from the CLI or the API, before validation."""

    photo: bytes
    prompt: str | None
    options: dict[str, Any]
    submitter: str
    idempotency_key: str | None = None
    extends: str | None = None  # the published job whose clip this one continues
    callback_url: str | None = None  # checked before the request is built (see webhooks)
    surface: str = DEFAULT_SURFACE  # whose policy packs decide it (the submitting service says)

    def sha256(self) -> str:
        """What an idempotency key is bound to: the photo, prompt, options and extended job."""
        digest = hashlib.sha256()
        digest.update(hashlib.sha256(self.photo).digest())
        digest.update(b"\x00" if self.prompt is None else b"\x01" + self.prompt.encode())
        digest.update(repr(sorted(self.options.items())).encode())
        if self.extends:
            digest.update(b"extends:" + self.extends.encode())
        if self.callback_url:
            digest.update(b"callback:" + self.callback_url.encode())
        if self.surface != DEFAULT_SURFACE:  # so hashes of requests made before surfaces hold
            digest.update(b"surface:" + self.surface.encode())
        return digest.hexdigest()


def extension_request(
    store: AuditStore,
    blobs: BlobStore,
    job_id: str,
    duration_s: Any,
    *,
    submitter: str,
    idempotency_key: str | None = None,
) -> JobRequest:
    """A request for a longer clip that continues a published job's motion.

    The same photo, prompt, options and seed make the same frames (motion depends on time, not on
    the clip's length), so the longer clip starts exactly as the published one and carries on.
    It is a new job: every gate, the audit and the signature run again.
    """
    job = store.get_job(job_id)
    if job is None:
        raise NotFound("not_found", f"no job {job_id}")
    if job.status != "published":
        raise Conflict(
            "not_published", f"job {job_id} is {job.status}; only a published clip extends"
        )
    options = dict(job.options)
    if options.get("loop"):
        raise InvalidInput(
            "invalid_option", "a looping clip cannot be extended: its motion returns to its start"
        )
    current = float(options.get("duration_s", GenerationOptions().duration_s))
    if (
        isinstance(duration_s, bool)
        or not isinstance(duration_s, int | float)
        or not current < duration_s <= DURATION_RANGE[1]
    ):
        raise InvalidInput(
            "invalid_option",
            f"duration_s must be a number over the clip's {current:g} s and at most "
            f"{DURATION_RANGE[1]:g} s, got {duration_s!r}",
        )
    options["duration_s"] = float(duration_s)
    return JobRequest(
        photo=_stored_photo(blobs, job.input_blob),
        prompt=job.prompt,
        options=options,
        submitter=submitter,
        idempotency_key=idempotency_key,
        extends=job.id,
        surface=job.surface,
    )


def _stored_photo(blobs: BlobStore, ref: str) -> bytes:
    try:
        return blobs.read(ref)
    except BlobUnavailable as exc:
        raise Unavailable("blob_store_unavailable", "the photo store cannot be reached") from exc


def validate_request(request: JobRequest) -> tuple[str, GenerationOptions]:
    """Check the photo, prompt and options; returns the photo's MIME type and parsed options."""
    _photo, mime = checked_photo(request.photo)
    check_prompt(request.prompt)
    try:
        options = GenerationOptions.from_dict(request.options)
        options.validate()
    except ValueError as exc:
        raise InvalidInput("invalid_option", str(exc)) from exc
    check_prompt(moderated_text(request.prompt, options.motion_prompt))
    return mime, steered_by_prompt(request.prompt, options)


def check_surface(surface: str, policies: LivePolicies | None) -> None:
    """A job may name the default surface, or one with an active pack; else InvalidInput.

    Checked at submission, so a job naming a surface nobody configured is a 400, not a job that
    fails (or, worse, is quietly decided by the default pack).
    """
    checked_surface(surface)
    if surface != DEFAULT_SURFACE and (policies is None or not policies.serves(surface)):
        raise InvalidInput(
            "unknown_surface",
            f"surface {surface!r} has no active policy pack; an admin activates one with "
            f"`stillguard policy activate VERSION --surface {surface}`",
        )


def _record_rejection(store: AuditStore, request: JobRequest, error: InvalidInput) -> None:
    refused = {
        "submitter": request.submitter,
        "request_sha256": request.sha256(),
        "photo_bytes": len(request.photo),
    }
    store.append(
        EventDraft.without_job(
            "intake", "input.rejected", "reject", f"{error.code}: {error}", refused
        )
    )


def _replayed_job(store: AuditStore, request: JobRequest) -> JobRecord | None:
    """The job an earlier request with this idempotency key made, if the body is the same."""
    if not request.idempotency_key:
        return None
    existing = store.find_job_by_idempotency(request.submitter, request.idempotency_key)
    if existing is not None and existing.request_sha256 != request.sha256():
        raise Conflict(
            "idempotency_conflict",
            f"Idempotency-Key was already used for job {existing.id} with a different request",
        )
    return existing


def submit_job(
    store: AuditStore,
    blobs: BlobStore,
    request: JobRequest,
    *,
    policies: LivePolicies | None = None,
    quota: Quota | None = None,
) -> JobRecord:
    """Validate a request, store the photo, and record the job with its message to the input gate.

    The job, its `job.created` event and its `jobs.submitted` message commit together (the
    outbox), so an accepted job is never lost and never left without a message. A replayed
    request (same submitter and idempotency key, same body) returns the original job; the same
    key with a different body is refused. Rejected input leaves an audit event. A surface other
    than the default needs `policies` to check that it has an active pack. With a `quota` (API
    keys), a key over it is refused (RateLimited) before anything is stored.
    """
    existing = _replayed_job(store, request)
    if existing is not None:
        return existing
    if quota is not None:
        check_quota(store, request.submitter, quota)
    try:
        mime, options = validate_request(request)
        check_surface(request.surface, policies)
    except InvalidInput as exc:
        _record_rejection(store, request, exc)
        raise
    # Photos are stored by content, so the reference exists before the job does.
    photo_key = hashlib.sha256(request.photo).hexdigest()[:32]
    ref = blob_ref("inputs", photo_key, f"photo.{EXTENSION_FOR_MIME[mime]}")
    try:
        blobs.put(ref, request.photo)
    except BlobUnavailable as exc:
        raise Unavailable("blob_store_unavailable", "the photo store cannot be reached") from exc
    job_id = uuid.uuid4().hex
    created = EventDraft(
        job_id=job_id,
        stage="intake",
        kind="job.created",
        payload={
            "submitter": request.submitter,
            "input_blob": ref,
            "mime": mime,
            "options": options.to_dict(),
            "prompt_chars": len(request.prompt or ""),
            "surface": request.surface,
        }
        | ({"extends": request.extends} if request.extends else {}),
        event_id=f"{job_id}-intake-created",
    )
    try:
        with job_span("job.submitted", job_id, parent={}):  # the root of the job's trace
            job = store.create_job(
                submitter=request.submitter,
                input_blob=ref,
                prompt=request.prompt,
                options=options.to_dict(),
                idempotency_key=request.idempotency_key,
                request_sha256=request.sha256(),
                job_id=job_id,
                callback_url=request.callback_url,
                surface=request.surface,
                created=created,
                outbox=outgoing(JobSubmitted(job_id=job_id)),
            )
    except IdempotencyConflict as exc:
        # A concurrent request with the same key won the race: same body, same job.
        winner = _replayed_job(store, request)
        if winner is not None:
            return winner
        raise Conflict("idempotency_conflict", str(exc)) from exc
    remember_submission(store, job)
    return job
