"""The HTTP side of the one error model: each error kind's status, decided here and only here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException  # FastAPI's is a subclass: one handler

from ..errors import (
    Conflict,
    CorruptMedia,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StillguardError,
    Unauthorized,
    Unavailable,
    UnsupportedMedia,
)
from ..observability import REQUEST_ID
from .schemas import ErrorResponse

log = logging.getLogger("stillguard.api")

# Most specific first: subclasses of InvalidInput have their own statuses.
HTTP_STATUS: tuple[tuple[type[StillguardError], int], ...] = (
    (PayloadTooLarge, 413),
    (UnsupportedMedia, 415),
    (CorruptMedia, 422),
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (Unavailable, 503),
)
_DESCRIPTION = {
    400: "Bad input: the message says what to fix",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role does not allow this",
    404: "No such thing visible to this key",
    409: "The current state does not allow this",
    413: "The upload is too large",
    415: "The upload is not a supported kind of file",
    422: "The upload cannot be decoded",
    429: "The key's quota is spent; nothing was changed, retry after Retry-After seconds",
    503: "A dependency is down; nothing was changed, retry later",
}


def status_of(error: StillguardError) -> int:
    """The HTTP status that answers `error`."""
    return next(status for kind, status in HTTP_STATUS if isinstance(error, kind))


def error_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error answers an operation can give."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTION[status]}
        for status in sorted(statuses)
    }


def use_error_schema_for_validation(app: FastAPI) -> None:
    """Make the OpenAPI document say what the app does: request validation answers 400 in the
    error shape (see `validation_error`), not FastAPI's default 422 with its own schema."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = default_openapi()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.get("responses", {})
                default = answers.get("422", {}).get("content", {}).get("application/json", {})
                if default.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    del answers["422"]
                    answers.setdefault(
                        "400",
                        {
                            "description": _DESCRIPTION[400],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                                }
                            },
                        },
                    )
        schemas = spec.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON body of every error answer, naming the request it answers (see RequestIds)."""
    return {"error": {"code": code, "message": message, "request_id": REQUEST_ID.get() or "-"}}


def unexpected_error(method: str, path: str, exc: Exception) -> JSONResponse:
    """The 500 for an exception nothing else answered: its traceback goes to the log under the
    request id, and the caller gets that id and a generic message (no paths, SQL or internals)."""
    request_id = REQUEST_ID.get() or "-"
    log.error(
        "unhandled error on %s %s request_id=%s",
        method,
        path,
        request_id,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    message = "internal error; the request was not completed"
    return JSONResponse(error_body("internal_error", message), 500)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one shape, with no internals (paths, SQL, tracebacks).

    Any other exception is answered by `unexpected_error`, from the RequestIds middleware: it
    is caught there, inside Starlette's ServerErrorMiddleware, while the request id is known.
    """

    @app.exception_handler(StillguardError)
    async def known_error(_: Request, exc: StillguardError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after_s)}
        elif isinstance(exc, Unavailable):
            headers = {"Retry-After": "5"}
        return JSONResponse(error_body(exc.code, exc.message), status_of(exc), headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        # One transaction per change: nothing partial was written. Details go to the log only.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        message = "the database is unavailable; nothing was changed, retry later"
        return JSONResponse(error_body("unavailable", message), 503, headers={"Retry-After": "5"})

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        body = error_body(detail.get("code", "http_error"), detail.get("message", str(exc.detail)))
        # Starlette's own headers (a 405's Allow) stay on the answer.
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return JSONResponse(error_body("invalid_request", message), 400)
