"""Routes for provenance: verification of any file."""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from provenance.errors import ProvenanceError
from provenance.fingerprint import FINGERPRINT_ALG
from provenance.recovery import read_signals, recover
from provenance.repository import RegistryEntry
from provenance.verify import verify_file
from provenance.watermark import WATERMARK_ALG

from .api_deps import ApiError, Services, services

router = APIRouter(prefix="/v1", tags=["provenance"])
TSA_QUERY = "application/timestamp-query"


def _verify_path(svc: Services, path: Path) -> Any:
    return verify_file(path, svc.deps.authority.trust_anchors(), repository=svc.deps.repository)


@router.post("/verify")
async def verify(
    svc: Annotated[Services, Depends(services)], file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    from provenance.errors import CorruptMediaError, ProvenanceError, UnsupportedMediaError

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(await file.read())
        try:
            report = await run_in_threadpool(_verify_path, svc, path)
            return report.to_dict()
        except UnsupportedMediaError as exc:
            raise ApiError(415, "unsupported_media_type", str(exc)) from exc
        except CorruptMediaError as exc:
            raise ApiError(422, "corrupt_media", str(exc)) from exc
        except ProvenanceError as exc:
            raise ApiError(400, "unreadable_media", str(exc)) from exc


def _match(entry: RegistryEntry, source: str, detail: str = "") -> dict[str, Any]:
    """One match in the shape of the C2PA soft-binding resolution API, plus our own fields."""
    return {
        "manifestId": entry.manifest_label,
        "clip_id": entry.clip_id,
        "job_id": entry.job_id,
        "matched_by": source,
        "detail": detail,
    }


@router.get("/matches/byBinding")
def matches_by_binding(
    alg: str, value: str, svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    """Resolve a soft binding (watermark id or fingerprint hash) to the manifest it came from."""
    if alg == WATERMARK_ALG:
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ApiError(400, "invalid_value", "a watermark value is base64") from exc
        if len(raw) != 4:
            raise ApiError(400, "invalid_value", "a watermark value is 4 bytes, base64-encoded")
        entry = svc.deps.repository.by_clip_id(int.from_bytes(raw, "big"))
    elif alg == FINGERPRINT_ALG:
        hashes = [h.strip() for h in value.split(",") if h.strip()]
        if not hashes or any(len(h) != 64 or not _is_hex(h) for h in hashes):
            raise ApiError(
                400, "invalid_value", "a fingerprint value is 64-hex PDQ hashes, comma-separated"
            )
        entry = svc.deps.repository.by_fingerprint(hashes)
    else:
        raise ApiError(400, "unknown_alg", f"alg must be {WATERMARK_ALG} or {FINGERPRINT_ALG}")
    return {
        "matches": [_match(entry, "watermark" if alg == WATERMARK_ALG else "fingerprint")]
        if entry
        else []
    }


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


@router.post("/matches/byContent")
async def matches_by_content(
    svc: Annotated[Services, Depends(services)], file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Find the manifest of an uploaded copy by its watermark, then its fingerprint."""
    data = await file.read()
    try:
        signals = await run_in_threadpool(read_signals, io.BytesIO(data))
    except ProvenanceError as exc:
        raise ApiError(422, "corrupt_media", str(exc)) from exc
    found = await run_in_threadpool(recover, signals, svc.deps.repository)
    return {"matches": [_match(found.entry, found.source, found.detail)] if found else []}


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
    reply = await run_in_threadpool(svc.deps.authority.time_stamp_authority().respond, body)
    return Response(reply, media_type="application/timestamp-reply")
