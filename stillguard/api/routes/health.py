"""Routes for operators: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from provenance.errors import ProvenanceError

from ... import __version__
from ...blobs import BlobUnavailable
from ...metrics import exposition
from ..deps import ServicesDep
from ..schemas import Health, Readiness

router = APIRouter(tags=["operators"])
log = logging.getLogger("stillguard.api")


@router.get("/healthz", summary="Liveness")
def healthz() -> Health:
    """The process answers."""
    return Health(status="ok", version=__version__)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics (stage latencies, job outcomes, HTTP answers)."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a store or the keys are down"}},
)
def readyz(svc: ServicesDep) -> JSONResponse:
    """Ready when the audit and blob stores answer and the keys open: else 503, say which."""
    problems = {}
    try:
        svc.store.get_job("0" * 32)
    except SQLAlchemyError:
        log.exception("readiness: the audit store does not answer")
        problems["audit_store"] = "the audit store does not answer"
    try:
        svc.deps.authority.trust_anchors()
    except (ProvenanceError, OSError):
        log.exception("readiness: the signing keys cannot be opened")
        problems["authority"] = "the signing keys cannot be opened"
    try:
        svc.blobs.ping()
    except BlobUnavailable:
        log.exception("readiness: the blob store does not answer")
        problems["blob_store"] = "the blob store does not answer"
    body = Readiness(ready=not problems, problems=problems)
    return JSONResponse(body.model_dump(), status_code=503 if problems else 200)
