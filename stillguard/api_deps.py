"""What every route shares: the error shape, the services, API-key authentication and roles."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from audit.store import AuditStore

from .blobs import BlobStore
from .deps import StageDeps
from .pipeline import BackgroundRunner
from .settings import Settings

ROLE_RANK = {"submitter": 0, "reviewer": 1, "admin": 2}


class ApiError(HTTPException):
    """An error answered as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status_code=status, detail={"code": code, "message": message})


@dataclass
class Services:
    """What the routes use, built once when the app starts."""

    settings: Settings
    store: AuditStore
    blobs: BlobStore
    publish: Any
    runner: BackgroundRunner | None
    deps: StageDeps

    def request_deps(self) -> StageDeps:
        """Stage dependencies whose publish is safe from a request thread."""
        return replace(self.deps, publish=self.publish)


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
