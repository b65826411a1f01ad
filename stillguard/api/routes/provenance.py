"""Routes for provenance, open to anyone: verify a file, resolve a soft binding."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from starlette.concurrency import run_in_threadpool

from ...services.verification import resolve_binding, resolve_content, verify_upload
from ..deps import ServicesDep
from ..errors import error_answers
from ..schemas import Matches, VerifyReport

router = APIRouter(prefix="/v1", tags=["provenance"])


@router.post(
    "/verify", summary="Verify a file's provenance", responses=error_answers(400, 413, 415, 422)
)
async def verify(svc: ServicesDep, file: Annotated[UploadFile, File()]) -> VerifyReport:
    """valid / tampered / untrusted / no_manifest / recovered, what the manifest claims, and why."""
    data = await file.read()
    return VerifyReport.model_validate(await run_in_threadpool(verify_upload, svc.deps, data))


@router.get("/matches/byBinding", summary="Resolve a soft binding", responses=error_answers(400))
def matches_by_binding(alg: str, value: str, svc: ServicesDep) -> Matches:
    """Resolve a soft binding (watermark id or fingerprint hash) to the manifest it came from."""
    return Matches.model_validate({"matches": resolve_binding(svc.deps, alg, value)})


@router.post(
    "/matches/byContent",
    summary="Find a copy's manifest",
    responses=error_answers(400, 413, 415, 422),
)
async def matches_by_content(svc: ServicesDep, file: Annotated[UploadFile, File()]) -> Matches:
    """Find the manifest of an uploaded copy by its watermark, then its fingerprint."""
    data = await file.read()
    found = await run_in_threadpool(resolve_content, svc.deps, data)
    return Matches.model_validate({"matches": found})
