"""The HTTP API: thin routes that validate, authorise, call a domain function and shape the answer."""

from __future__ import annotations

import json
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit.store import AuditQuery, AuditStore

from . import __version__
from .blobs import BlobStore
from .pipeline import BackgroundRunner, InProcessPipeline
from .settings import Settings
from .wiring import BadRequest, JobRequest, build_deps, open_authority, open_store, submit_job

ROLE_RANK = {"submitter": 0, "reviewer": 1, "admin": 2}


class ApiError(HTTPException):
    """An error answered as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status_code=status, detail={"code": code, "message": message})


class BodySizeLimit:
    """Refuses request bodies over the limit before reading them all (413), even when chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send, self.max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": {"code": "payload_too_large", "message": f"request body exceeds {limit} bytes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Services:
    """What the routes use, built once when the app starts."""

    settings: Settings
    store: AuditStore
    blobs: BlobStore
    publish: Any
    runner: BackgroundRunner | None


@dataclass(frozen=True)
class Caller:
    key_id: str
    role: str


def services(request: Request) -> Services:
    return request.app.state.services


def caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller | None:
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <api key>'")
    key = services(request).store.authenticate(secret.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    return Caller(key_id=key.id, role=key.role)


def require(role: str) -> Any:
    """Dependency: the caller must hold `role` or a stronger one."""

    def check(who: Annotated[Caller | None, Depends(caller)]) -> Caller:
        if who is None:
            raise ApiError(401, "unauthorized", "an API key is required (Authorization: Bearer)")
        if ROLE_RANK[who.role] < ROLE_RANK[role]:
            raise ApiError(403, "forbidden", f"this endpoint needs the {role} role")
        return who

    return check


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


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app; with no Kafka configured the stages run in a background thread."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        store = open_store(settings)
        runner = None
        if settings.kafka_bootstrap:
            from streams.kafka import KafkaBackend

            backend = KafkaBackend(settings.kafka_bootstrap, client_id="stillguard-api")
            backend.ensure_topics()
            publish, blobs = backend.publish, BlobStore(settings.home / "blobs")
        else:
            runner = BackgroundRunner(
                InProcessPipeline(lambda publish: build_deps(settings, store, publish))
            )
            publish, blobs = runner.publish, runner.pipeline.deps.blobs
        app.state.services = Services(settings, store, blobs, publish, runner)
        try:
            yield
        finally:
            if runner is not None:
                runner.close()

    app = FastAPI(title="Stillguard", version=__version__, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"code": "http_error", "message": str(exc.detail)}
        )
        return JSONResponse({"error": detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return JSONResponse({"error": {"code": "invalid_request", "message": message}}, 400)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/jobs", status_code=202)
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

    @app.get("/v1/jobs/{job_id}")
    def get_job(
        job_id: str,
        who: Annotated[Caller, Depends(require("submitter"))],
        svc: Annotated[Services, Depends(services)],
    ) -> dict[str, Any]:
        return _job_view(_own_job(svc, job_id, who))

    @app.get("/v1/jobs/{job_id}/video", response_class=FileResponse)
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

    @app.post("/v1/verify")
    async def verify(
        svc: Annotated[Services, Depends(services)], file: Annotated[UploadFile, File()]
    ) -> dict[str, Any]:
        from provenance.verify import verify_file

        from provenance.errors import CorruptMediaError, ProvenanceError, UnsupportedMediaError

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(await file.read())
            try:
                return verify_file(path, open_authority(svc.settings).trust_anchors()).to_dict()
            except UnsupportedMediaError as exc:
                raise ApiError(415, "unsupported_media_type", str(exc)) from exc
            except CorruptMediaError as exc:
                raise ApiError(422, "corrupt_media", str(exc)) from exc
            except ProvenanceError as exc:
                raise ApiError(400, "unreadable_media", str(exc)) from exc

    @app.get("/v1/audit")
    def audit(
        _: Annotated[Caller, Depends(require("reviewer"))],
        svc: Annotated[Services, Depends(services)],
        job: str | None = None,
        stage: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        policy: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: int | None = None,
    ) -> dict[str, Any]:
        events = svc.store.events(
            AuditQuery(
                job_id=job,
                stage=stage,
                action=action,
                since=since,
                until=until,
                policy_version=policy,
                limit=limit,
                after_seq=after,
            )
        )
        rows = [e.to_dict() for e in events]
        return {"events": rows, "next_after": rows[-1]["seq"] if len(rows) == limit else None}

    return app
