"""Routes for provenance: verification of any file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from .api_deps import ApiError, Services, services

router = APIRouter(prefix="/v1", tags=["provenance"])
TSA_QUERY = "application/timestamp-query"


@router.post("/verify")
async def verify(
    svc: Annotated[Services, Depends(services)], file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    from provenance.errors import CorruptMediaError, ProvenanceError, UnsupportedMediaError
    from provenance.verify import verify_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(await file.read())
        try:
            return verify_file(path, svc.deps.authority.trust_anchors()).to_dict()
        except UnsupportedMediaError as exc:
            raise ApiError(415, "unsupported_media_type", str(exc)) from exc
        except CorruptMediaError as exc:
            raise ApiError(422, "corrupt_media", str(exc)) from exc
        except ProvenanceError as exc:
            raise ApiError(400, "unreadable_media", str(exc)) from exc


pages = APIRouter(tags=["pages"])
VERIFY_PAGE = Path(__file__).resolve().parent / "static" / "verify.html"


@pages.get("/", response_class=HTMLResponse, include_in_schema=False)
@pages.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page() -> HTMLResponse:
    """The public page where a person drops a file and sees its provenance report."""
    return HTMLResponse(VERIFY_PAGE.read_text(encoding="utf-8"))


@pages.post("/tsa", include_in_schema=False)
async def time_stamp(request: Request, svc: Annotated[Services, Depends(services)]) -> Response:
    """The authority's RFC 3161 time-stamp authority (application/timestamp-query in)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != TSA_QUERY:
        raise ApiError(415, "unsupported_media_type", f"send {TSA_QUERY}")
    body = await request.body()
    if len(body) > 64 * 1024:
        raise ApiError(413, "payload_too_large", "a time-stamp request is at most 64 KiB")
    reply = svc.deps.authority.time_stamp_authority().respond(body)
    return Response(reply, media_type="application/timestamp-reply")
