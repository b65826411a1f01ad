"""Public pages and protocols: the verify web page and the authority's time-stamp service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from provenance.tsa import granted

from ...container import usable_authority
from ...errors import PayloadTooLarge, UnsupportedMedia
from ..deps import ServicesDep

router = APIRouter(tags=["pages"])
VERIFY_PAGE = Path(__file__).resolve().parents[1] / "static" / "verify.html"
TSA_QUERY = "application/timestamp-query"
MAX_TSA_REQUEST_BYTES = 64 * 1024


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page() -> HTMLResponse:
    """The public page where a person drops a file and sees its provenance report."""
    return HTMLResponse(VERIFY_PAGE.read_text(encoding="utf-8"))


@router.post("/tsa", include_in_schema=False)
async def time_stamp(request: Request, svc: ServicesDep) -> Response:
    """The authority's RFC 3161 time-stamp authority (application/timestamp-query in)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != TSA_QUERY:
        raise UnsupportedMedia("unsupported_media_type", f"send {TSA_QUERY}")
    body = await request.body()
    if len(body) > MAX_TSA_REQUEST_BYTES:
        raise PayloadTooLarge("payload_too_large", "a time-stamp request is at most 64 KiB")
    authority = await run_in_threadpool(usable_authority, svc.deps)
    reply = await run_in_threadpool(authority.time_stamp_authority().respond, body)
    # A malformed request still gets its RFC 3161 rejection, as a 400: the caller's mistake.
    status = 200 if granted(reply) else 400
    return Response(reply, status_code=status, media_type="application/timestamp-reply")
