"""Route for moderation on its own: `/v1/check`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from audit.records import DEFAULT_SURFACE

from ...services.moderation import check_content
from ..deps import ServicesDep, SubmitterDep
from ..errors import error_answers
from ..schemas import CheckReport

router = APIRouter(prefix="/v1", tags=["moderation"])


@router.post(
    "/check",
    summary="Moderate a photo, prompt or clip",
    responses=error_answers(400, 401, 403, 413, 415, 422),
)
async def check(
    _: SubmitterDep,
    svc: ServicesDep,
    file: Annotated[UploadFile | None, File(description="a photo or an MP4 clip")] = None,
    prompt: Annotated[str | None, Form()] = None,
    stage: Annotated[str | None, Form(description="input or output")] = None,
    surface: Annotated[
        str, Form(description="whose active pack decides, as for a job (e.g. `teen`)")
    ] = DEFAULT_SURFACE,
) -> CheckReport:
    """Signals, segments and the policy decision, as the pipeline would record them; no job."""
    content = await file.read() if file is not None else None
    report = await run_in_threadpool(
        check_content, svc.deps, content=content, prompt=prompt, stage=stage, surface=surface
    )
    return CheckReport.model_validate(report)
