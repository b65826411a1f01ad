"""Routes for generation jobs: submit, status, the signed video."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Header, UploadFile
from fastapi.responses import FileResponse

from .api_deps import ApiError, Caller, Services, require, services
from .wiring import BadRequest, JobRequest, extension_request, submit_job

router = APIRouter(prefix="/v1", tags=["jobs"])


def _job_view(job: Any) -> dict[str, Any]:
    data = job.to_dict()
    return {
        k: data.get(k)
        for k in ("id", "status", "created_at", "updated_at", "decisions", "error", "options")
    } | {"job_id": job.id}


def _own_job(svc: Services, job_id: str, who: Caller) -> Any:
    job = svc.store.get_job(job_id) if len(job_id) == 32 and job_id.isalnum() else None
    if job is None or (who.role == "submitter" and job.submitter != who.key_id):
        raise ApiError(404, "not_found", f"no job {job_id} visible to this key")
    return job


@router.post("/jobs", status_code=202)
async def create_job(
    who: Annotated[Caller, Depends(require("submitter"))],
    svc: Annotated[Services, Depends(services)],
    image: Annotated[UploadFile, File()],
    prompt: Annotated[str | None, Form()] = None,
    options: Annotated[str | None, Form()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    try:
        parsed = json.loads(options) if options else {}
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_option", f"options is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_option", "options must be a JSON object")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-200 chars")
    request = JobRequest(
        photo=await image.read(),
        prompt=prompt,
        options=parsed,
        submitter=who.key_id,
        idempotency_key=idempotency_key,
    )
    try:
        job = submit_job(svc.store, svc.blobs, svc.publish, request)
    except BadRequest as exc:
        raise ApiError(exc.http_status, exc.code, str(exc)) from exc
    return _job_view(job)


@router.post("/jobs/{job_id}/extend", status_code=202)
def extend_job(
    job_id: str,
    who: Annotated[Caller, Depends(require("submitter"))],
    svc: Annotated[Services, Depends(services)],
    body: Annotated[dict[str, Any], Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """A new job whose clip starts as this published one and runs on to `duration_s`."""
    job = _own_job(svc, job_id, who)
    unknown = sorted(set(body) - {"duration_s"})
    if unknown:
        raise ApiError(400, "invalid_option", f"unknown field(s) {unknown}; send duration_s")
    try:
        request = extension_request(
            svc.store,
            svc.blobs,
            job.id,
            body.get("duration_s"),
            submitter=who.key_id,
            idempotency_key=idempotency_key,
        )
        extended = submit_job(svc.store, svc.blobs, svc.publish, request)
    except BadRequest as exc:
        raise ApiError(exc.http_status, exc.code, str(exc)) from exc
    return _job_view(extended) | {"extends": job.id}


@router.get("/jobs/{job_id}")
def get_job(
    job_id: str,
    who: Annotated[Caller, Depends(require("submitter"))],
    svc: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    return _job_view(_own_job(svc, job_id, who))


@router.get("/jobs/{job_id}/video", response_class=FileResponse)
def get_video(
    job_id: str,
    who: Annotated[Caller, Depends(require("submitter"))],
    svc: Annotated[Services, Depends(services)],
) -> FileResponse:
    job = _own_job(svc, job_id, who)
    if job.status != "published" or not job.output_blob:
        raise ApiError(409, "not_published", f"job {job_id} is {job.status}, not published")
    return FileResponse(
        svc.blobs.path(job.output_blob), media_type="video/mp4", filename=f"{job.id}.mp4"
    )
