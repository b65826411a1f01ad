"""Routes that show reviewers what they decide: the photo, the held clip (seekable), the timeline."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...services.review_media import MediaFile, held_clip, input_photo, timeline
from ..deps import ReviewerDep, ServicesDep
from ..errors import error_answers
from ..schemas import ReviewTimeline

router = APIRouter(prefix="/v1", tags=["reviews"])
# A Range outside the file is answered 416 with `Content-Range: bytes */size` (by Starlette,
# in plain text), a malformed one 400.
RANGE_ANSWERS = {206: {"description": "the bytes asked for with `Range: bytes=a-b`"}}
MP4_ANSWER = {200: {"content": {"video/mp4": {}}}}  # a clip, as a file


def media_response(opened: AbstractContextManager[MediaFile]) -> FileResponse:
    """A FileResponse (Range, 206, 416 by Starlette) that keeps the blob's copy until sent."""
    stack = ExitStack()
    media = stack.enter_context(opened)
    return FileResponse(
        media.path,
        media_type=media.media_type,
        filename=media.filename,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, no-store"},
        background=BackgroundTask(stack.close),
    )


@router.get(
    "/jobs/{job_id}/input",
    response_class=FileResponse,
    summary="The submitted photo (reviewers)",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **RANGE_ANSWERS,
        **error_answers(401, 403, 404, 409),
    },
)
def get_input(job_id: str, _: ReviewerDep, svc: ServicesDep) -> FileResponse:
    """The photo the job was made from, as submitted; supports HTTP Range."""
    return media_response(input_photo(svc.deps, job_id))


@router.get(
    "/jobs/{job_id}/clip",
    response_class=FileResponse,
    summary="The held, labelled clip (reviewers)",
    responses={**MP4_ANSWER, **RANGE_ANSWERS, **error_answers(401, 403, 404, 409)},
)
def get_clip(job_id: str, _: ReviewerDep, svc: ServicesDep) -> FileResponse:
    """The labelled, unsigned clip as generated, for review only (never a publication);
    supports HTTP Range so a player can seek."""
    return media_response(held_clip(svc.deps, job_id))


@router.get(
    "/jobs/{job_id}/timeline",
    summary="The clip's scores over time (reviewers)",
    responses=error_answers(401, 403, 404, 409),
)
def get_timeline(job_id: str, _: ReviewerDep, svc: ServicesDep) -> ReviewTimeline:
    """Per-frame signals, segments and the below-threshold timeline the output gate recorded,
    with the output rules' thresholds, so the console plots them without scraping HTML."""
    return ReviewTimeline.model_validate(timeline(svc.deps, job_id))
