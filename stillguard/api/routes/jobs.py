"""Routes for generation jobs: submit, extend, status, the signed video."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from audit.records import DEFAULT_SURFACE, JobRecord

from ...blobs import SignedUrl
from ...errors import Conflict, Forbidden, InvalidInput, NotFound
from ...services.abuse import Quota
from ...services.appeals import appeal, statement_of_reasons
from ...services.input_limits import parse_json_object
from ...services.intake import JobRequest, extension_request, submit_job
from ...services.webhooks import check_callback_url
from ..deps import Caller, Services, ServicesDep, SubmitterDep
from ..errors import error_answers
from ..schemas import AppealRequest, ExtendRequest, JobView, StatementOfReasons
from .review_media import MP4_ANSWER

router = APIRouter(prefix="/v1", tags=["jobs"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="replaying the same body returns the same job; another body answers 409",
    ),
]


def _job_view(job: JobRecord, **extra: Any) -> JobView:
    data = job.to_dict()
    return JobView(
        job_id=job.id, **{k: data[k] for k in JobView.model_fields if k in data}, **extra
    )


def _own_job(svc: Services, job_id: str, who: Caller) -> JobRecord:
    job = svc.store.get_job(job_id) if len(job_id) == 32 and job_id.isalnum() else None
    if job is None or (who.role == "submitter" and job.submitter != who.key_id):
        raise NotFound("not_found", f"no job {job_id} visible to this key")
    return job


def _parse_options(options: str | None) -> dict[str, Any]:
    return parse_json_object(options, code="invalid_option", what="options") if options else {}


@router.post(
    "/jobs",
    status_code=202,
    summary="Submit a photo",
    responses=error_answers(400, 401, 403, 409, 413, 415, 429),
)
async def create_job(
    who: SubmitterDep,
    svc: ServicesDep,
    image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    prompt: Annotated[
        str | None, Form(description="optional text, at most 2,000 characters")
    ] = None,
    options: Annotated[str | None, Form(description="JSON object of generation options")] = None,
    callback_url: Annotated[
        str | None, Form(description="POSTed the final state (else the key's webhook)")
    ] = None,
    surface: Annotated[
        str,
        Form(
            description="whose policy packs decide the job, e.g. `teen` for a stricter pack: "
            "1-64 of a-z, 0-9, '_' and '-'; a surface with no active pack is a 400",
        ),
    ] = DEFAULT_SURFACE,
    idempotency_key: IdempotencyKey = None,
) -> JobView:
    """Accept a photo (and prompt, options) for moderation, generation and signing; 202 at once."""
    parsed = _parse_options(options)
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise InvalidInput("invalid_idempotency_key", "Idempotency-Key must be 1-200 chars")
    request = JobRequest(
        photo=await image.read(),
        prompt=prompt,
        options=parsed,
        submitter=who.key_id,
        idempotency_key=idempotency_key,
        callback_url=check_callback_url(callback_url, svc.settings) if callback_url else None,
        surface=surface,
    )
    submitted = submit_job(
        svc.store, svc.blobs, request, policies=svc.deps.policies, quota=Quota.of(svc.settings)
    )
    return _job_view(submitted)


@router.post(
    "/jobs/{job_id}/extend",
    status_code=202,
    summary="Continue a published clip",
    responses=error_answers(400, 401, 403, 404, 409, 429),
)
def extend_job(
    job_id: str,
    who: SubmitterDep,
    svc: ServicesDep,
    body: ExtendRequest,
    idempotency_key: IdempotencyKey = None,
) -> JobView:
    """A new job whose clip starts as this published one and runs on to `duration_s`."""
    job = _own_job(svc, job_id, who)
    if job.submitter != who.key_id:  # reviewers and admins see every job, but extend none
        raise Forbidden("forbidden", "only the key that submitted a job may extend it")
    request = extension_request(
        svc.store,
        svc.blobs,
        job.id,
        body.duration_s,
        submitter=who.key_id,
        idempotency_key=idempotency_key,
    )
    submitted = submit_job(
        svc.store, svc.blobs, request, policies=svc.deps.policies, quota=Quota.of(svc.settings)
    )
    return _job_view(submitted, extends=job.id)


@router.get("/jobs/{job_id}", summary="A job's status", responses=error_answers(401, 403, 404))
def get_job(job_id: str, who: SubmitterDep, svc: ServicesDep) -> JobView:
    """Where the job stands and what was decided; submitters see only their own jobs."""
    return _job_view(_own_job(svc, job_id, who))


@router.get(
    "/jobs/{job_id}/video",
    response_class=FileResponse,
    summary="The signed clip",
    responses={
        **MP4_ANSWER,
        307: {"description": "a short-lived signed URL of the clip in the object store"},
        **error_answers(401, 403, 404, 409),
    },
)
def get_video(job_id: str, who: SubmitterDep, svc: ServicesDep) -> Response:
    """The labelled, C2PA-signed MP4 once the job is published (or a redirect to it in S3)."""
    job = _own_job(svc, job_id, who)
    if job.status != "published" or not job.output_blob:
        raise Conflict("not_published", f"job {job_id} is {job.status}, not published")
    if job.blobs_expired_at is not None:
        raise NotFound("expired", f"job {job_id}'s clip is no longer kept (retention)")
    filename = f"{job.id}.mp4"
    served = svc.blobs.serve(job.output_blob, filename=filename, media_type="video/mp4")
    if isinstance(served, SignedUrl):
        return RedirectResponse(served.url, status_code=307)
    return FileResponse(served.path, media_type="video/mp4", filename=filename)


@router.get(
    "/jobs/{job_id}/reasons",
    summary="Statement of reasons",
    responses=error_answers(401, 403, 404, 409),
)
def get_reasons(job_id: str, who: SubmitterDep, svc: ServicesDep) -> StatementOfReasons:
    """Why the job was refused, restricted or held (EU DSA Art. 17 fields) and how to appeal."""
    job = _own_job(svc, job_id, who)
    return StatementOfReasons.model_validate(statement_of_reasons(svc.deps, job.id))


@router.post(
    "/jobs/{job_id}/appeal",
    status_code=202,
    summary="Appeal a refusal",
    responses=error_answers(400, 401, 403, 404, 409),
)
def appeal_job(
    job_id: str, body: AppealRequest, who: SubmitterDep, svc: ServicesDep
) -> StatementOfReasons:
    """Once per job, by its submitter: the job returns to review, decided by a second reviewer."""
    job = _own_job(svc, job_id, who)
    appeal(svc.deps, job.id, submitter=who.key_id, text=body.text)
    return StatementOfReasons.model_validate(statement_of_reasons(svc.deps, job.id))
