"""ASGI middleware: request ids, oversized bodies refused before they are read, answers counted
by route."""

from __future__ import annotations

import json
import re
import uuid

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import HTTP_REQUESTS
from ..observability import REQUEST_ID
from .errors import error_body, unexpected_error

# A caller's own id is kept only when it is plainly an id: it goes into logs and headers as is.
INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")


class _HttpMiddleware:
    """ASGI middleware that acts on HTTP requests (`http`); lifespan and the rest pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        else:
            await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestIds(_HttpMiddleware):
    """Names every request: a sane incoming X-Request-ID, else a fresh one. The id is in the
    X-Request-ID header of every answer, in every error body and on every log line of the
    request; an exception nothing else answered becomes a generic 500 here (see
    `unexpected_error`), so its traceback is logged once, under the id."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        sane = INCOMING_REQUEST_ID.fullmatch(incoming.decode("latin-1"))
        request_id = sane.group() if sane else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:  # too late for an answer; the server logs and drops the connection
                raise
            answer = unexpected_error(scope["method"], scope["path"], exc)
            await answer(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class BodySizeLimit(_HttpMiddleware):
    """Refuses request bodies over the limit before reading them all (413), even when chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class _BodyTooLarge(HTTPException):
    """Raised mid-body; an HTTPException so form parsing lets it through as a 413."""

    def __init__(self) -> None:
        super().__init__(
            status_code=413,
            detail={"code": "payload_too_large", "message": "request body too large"},
        )


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        error_body("payload_too_large", f"request body exceeds {limit} bytes")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestMetrics(_HttpMiddleware):
    """Counts responses by route template (never by raw path: ids would explode the labels)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = {"code": 500}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(route=template, code=str(status["code"])).inc()
