"""The HTTP API: thin routers that validate, authorise, call a domain function and shape the answer."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException  # FastAPI's is a subclass: one handler

from provenance.errors import ProvenanceError

from . import (
    __version__,
    routes_audit,
    routes_jobs,
    routes_moderation,
    routes_provenance,
    routes_review,
)
from .api_deps import Services
from .body_limit import BodySizeLimit
from .metrics import RequestMetrics, exposition
from .pipeline import BackgroundRunner, InProcessPipeline
from .settings import Settings
from .wiring import build_deps, open_store

log = logging.getLogger("stillguard.api")


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app; with no Kafka configured the stages run in a background thread."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        store = open_store(settings)
        runner = None
        backend = None
        if settings.kafka_bootstrap:
            from streams.kafka import KafkaBackend

            backend = KafkaBackend(settings.kafka_bootstrap, client_id="stillguard-api")
            backend.ensure_topics()
            deps = build_deps(settings, store, backend.publish)
            publish = backend.publish
        else:
            runner = BackgroundRunner(
                InProcessPipeline(lambda publish: build_deps(settings, store, publish))
            )
            deps, publish = runner.pipeline.deps, runner.publish
        app.state.services = Services(settings, store, deps.blobs, publish, runner, deps)
        try:
            yield
        finally:
            if runner is not None:
                runner.close()
            if backend is not None:
                backend.close()
            store.close()

    app = FastAPI(title="Stillguard", version=__version__, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestMetrics)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"code": "http_error", "message": str(exc.detail)}
        )
        return JSONResponse({"error": detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for operators; the caller gets the error shape, no internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "internal error; the request was not completed"
        return JSONResponse({"error": {"code": "internal_error", "message": message}}, 500)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return JSONResponse({"error": {"code": "invalid_request", "message": message}}, 400)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics (stage latencies, job outcomes, HTTP answers)."""
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        """Ready when the audit store answers and the signing keys open: else 503, say which."""
        svc: Services = request.app.state.services
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
        status = 503 if problems else 200
        return JSONResponse({"ready": not problems, "problems": problems}, status_code=status)

    for module in (routes_jobs, routes_audit, routes_provenance, routes_review, routes_moderation):
        app.include_router(module.router)
    app.include_router(routes_provenance.pages)
    return app
