"""Builds the stage dependencies and the job intake from settings: the one place that wires parts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.store import AuditStore, JobRecord
from audit.store import IdempotencyConflict as StoreIdempotencyConflict
from generation import GenerationOptions, load_backend
from generation.options import DURATION_RANGE
from policies.pack import PolicyPack
from provenance.authority import Authority
from provenance.repository import ManifestRepository
from safety.clip_classifier import ClipClassifier
from safety.faces import FaceDetector
from safety.hashes import HashBank, HashBankError, HashMatcher
from safety.image_classifier import ImageClassifier
from safety.nudenet_detector import NudeNetDetector
from safety.photo_intake import BadImageError, load_photo
from safety.prompt_classifier import MAX_PROMPT_CHARS
from streams import topics

from .blobs import BlobStore
from .deps import Publish, StageDeps
from .settings import Settings

EXTENSION_FOR_MIME = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


class BadRequest(ValueError):
    """Input a user must fix; carries the machine-readable code and the HTTP status."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class IdempotencyConflict(BadRequest):
    """The same idempotency key was used before with a different request."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            "idempotency_conflict",
            f"Idempotency-Key was already used for job {job_id} with a different request",
            409,
        )


def open_store(settings: Settings) -> AuditStore:
    """The audit store, migrated to the current schema."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store = AuditStore(settings.database_url)
    store.migrate()
    return store


def active_policy_path(settings: Settings) -> Path:
    """Where an admin's uploaded policy pack is kept."""
    return settings.home / "policies" / "active.yaml"


def load_policy(settings: Settings) -> PolicyPack:
    """The active policy pack: STILLGUARD_POLICY_PATH, else an uploaded pack, else the default."""
    if settings.policy_path:
        return PolicyPack.load(settings.policy_path)
    uploaded = active_policy_path(settings)
    return PolicyPack.load(uploaded) if uploaded.exists() else PolicyPack.default()


def save_active_policy(settings: Settings, text: bytes) -> None:
    """Keep an uploaded pack (already validated) so restarts and other processes use it."""
    path = active_policy_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(text)
    tmp.replace(path)


def open_authority(settings: Settings) -> Authority:
    """The signing authority under HOME, created on first use."""
    return Authority.open(settings.home, settings.resolve_passphrase(), tsa_url=settings.tsa_url)


def _prompt_classifier() -> Any:
    # Imported late: it pulls in torch, which only the input gate needs.
    from safety.prompt_classifier import PromptClassifier

    return PromptClassifier()


# C0 controls other than tab, newline and carriage return, and DEL: never meaningful in a prompt,
# and NUL cannot be stored in PostgreSQL text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BANK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def load_hash_matcher(settings: Settings) -> HashMatcher | None:
    """Hash banks from the banks folder; None when there are none (no signals, not a failure)."""
    folder = settings.hash_banks
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    banks = [HashBank.load(path) for path in files if BANK_NAME.match(path.stem)]
    return HashMatcher(banks) if banks else None


def save_hash_bank(settings: Settings, name: str, text: str) -> HashBank:
    """Validate and store a bank uploaded through the API; the name becomes the file name."""
    if not BANK_NAME.match(name):
        raise BadRequest("invalid_bank_name", "bank names are 1-64 of a-z, 0-9, '_' and '-'")
    try:
        bank = HashBank.from_lines(name, text.splitlines(), source=f"uploaded bank {name}")
    except HashBankError as exc:
        raise BadRequest("invalid_hash_bank", str(exc)) from exc
    folder = settings.hash_banks
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / f"{name}.txt")
    return bank


def build_deps(settings: Settings, store: AuditStore, publish: Publish) -> StageDeps:
    """Stage dependencies for this process; models and keys load lazily on first use."""
    deps = StageDeps(
        store=store,
        blobs=BlobStore(settings.home / "blobs"),
        policy=load_policy(settings),
        authority_factory=lambda: open_authority(settings),
        image_classifier_factory=lambda: ImageClassifier(threads=2),
        prompt_classifier_factory=_prompt_classifier,
        face_detector_factory=FaceDetector,
        hash_matcher_factory=lambda: load_hash_matcher(settings),
        clip_classifier_factory=lambda: ClipClassifier(settings.clip_checkpoint),
        repository_factory=lambda: ManifestRepository(settings.database_url),
        nudenet_factory=NudeNetDetector,
        backend_factory=lambda: load_backend(settings.diffusers_model),
        trust_anchors=lambda: deps.authority.trust_anchors(),
        publish=publish,
    )
    return deps


@dataclass(frozen=True)
class JobRequest:
    """A generation request as it arrives from the CLI or the API, before validation."""

    photo: bytes
    prompt: str | None
    options: dict[str, Any]
    submitter: str
    idempotency_key: str | None = None
    extends: str | None = None  # the published job whose clip this one continues

    def sha256(self) -> str:
        digest = hashlib.sha256()
        digest.update(hashlib.sha256(self.photo).digest())
        digest.update(b"\x00" if self.prompt is None else b"\x01" + self.prompt.encode())
        digest.update(repr(sorted(self.options.items())).encode())
        if self.extends:
            digest.update(b"extends:" + self.extends.encode())
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
        raise BadRequest("not_found", f"no job {job_id}", 404)
    if job.status != "published":
        raise BadRequest(
            "not_published", f"job {job_id} is {job.status}; only a published clip extends", 409
        )
    options = dict(job.options)
    if options.get("loop"):
        raise BadRequest(
            "invalid_option", "a looping clip cannot be extended: its motion returns to its start"
        )
    current = float(options.get("duration_s", GenerationOptions().duration_s))
    if (
        isinstance(duration_s, bool)
        or not isinstance(duration_s, int | float)
        or not current < duration_s <= DURATION_RANGE[1]
    ):
        raise BadRequest(
            "invalid_option",
            f"duration_s must be a number over the clip's {current:g} s and at most "
            f"{DURATION_RANGE[1]:g} s, got {duration_s!r}",
        )
    options["duration_s"] = float(duration_s)
    return JobRequest(
        photo=blobs.read(job.input_blob),
        prompt=job.prompt,
        options=options,
        submitter=submitter,
        idempotency_key=idempotency_key,
        extends=job.id,
    )


def _reject(store: AuditStore, request: JobRequest, error: BadRequest) -> BadRequest:
    store.append(
        job_id=None,
        stage="intake",
        kind="input.rejected",
        action="reject",
        reasons=[f"{error.code}: {error}"],
        payload={
            "submitter": request.submitter,
            "request_sha256": request.sha256(),
            "photo_bytes": len(request.photo),
        },
    )
    return error


def validate_request(request: JobRequest) -> tuple[str, GenerationOptions]:
    """Check the photo, prompt and options; returns the photo's MIME type and parsed options."""
    try:
        _photo, mime = load_photo(request.photo)
    except BadImageError as exc:
        raise BadRequest(exc.code, str(exc), exc.http_status) from exc
    if request.prompt is not None and len(request.prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(
            "prompt_too_long",
            f"prompt has {len(request.prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
        )
    if request.prompt is not None and CONTROL_CHARACTERS.search(request.prompt):
        raise BadRequest("invalid_prompt", "prompt contains control characters (e.g. NUL)")
    try:
        options = GenerationOptions.from_dict(request.options)
        options.validate()
    except ValueError as exc:
        raise BadRequest("invalid_option", str(exc)) from exc
    return mime, options


def submit_job(
    store: AuditStore, blobs: BlobStore, publish: Publish, request: JobRequest
) -> JobRecord:
    """Validate a request, store the photo, record the job and publish it to the input gate.

    A replayed request (same submitter and idempotency key, same body) returns the original job;
    the same key with a different body is refused. Rejected input leaves an audit event.
    """
    if request.idempotency_key:
        existing = store.find_job_by_idempotency(request.submitter, request.idempotency_key)
        if existing is not None:
            if existing.request_sha256 != request.sha256():
                raise IdempotencyConflict(existing.id)
            return existing
    try:
        mime, options = validate_request(request)
    except BadRequest as exc:
        raise _reject(store, request, exc) from exc
    # Photos are stored by content, so the reference exists before the job does.
    photo_key = hashlib.sha256(request.photo).hexdigest()[:32]
    ref = blobs.ref("inputs", photo_key, f"photo.{EXTENSION_FOR_MIME[mime]}")
    blobs.put(ref, request.photo)
    try:
        job = store.create_job(
            submitter=request.submitter,
            input_blob=ref,
            prompt=request.prompt,
            options=options.to_dict(),
            idempotency_key=request.idempotency_key,
            request_sha256=request.sha256(),
        )
    except StoreIdempotencyConflict as exc:
        # A concurrent request with the same key won the race: same body, same job.
        winner = store.find_job_by_idempotency(request.submitter, request.idempotency_key or "")
        if winner is not None and winner.request_sha256 == request.sha256():
            return winner
        raise BadRequest("idempotency_conflict", str(exc), 409) from exc
    store.append(
        job_id=job.id,
        stage="intake",
        kind="job.created",
        payload={
            "submitter": request.submitter,
            "input_blob": ref,
            "mime": mime,
            "options": options.to_dict(),
            "prompt_chars": len(request.prompt or ""),
        }
        | ({"extends": request.extends} if request.extends else {}),
        event_id=f"{job.id}-intake-created",
    )
    publish(topics.JOBS_SUBMITTED, {"job_id": job.id})
    return job
