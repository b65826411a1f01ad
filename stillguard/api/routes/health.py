"""Routes for operators: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from ... import __version__
from ...metrics import exposition
from ...services.coverage import category_coverage
from ...services.health import readiness_problems
from ..deps import ServicesDep
from ..schemas import Health, Readiness, ReadinessDetails

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
    """Ready when the audit and blob stores answer and the keys open: else 503, say which.
    `details` lists every moderation category and whether it is evaluated here."""
    problems = readiness_problems(svc.deps)
    details = None
    try:
        details = ReadinessDetails.model_validate(category_coverage(svc.deps).to_dict())
    except (SQLAlchemyError, ValueError):
        log.exception("readiness: the moderation categories could not be listed")
    body = Readiness(ready=not problems, problems=problems, details=details)
    return JSONResponse(body.model_dump(), status_code=503 if problems else 200)
