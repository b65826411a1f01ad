"""What every route shares: the services, API-key authentication and roles, as `Annotated` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from audit.records import API_KEY_ROLES
from audit.store import AuditStore

from ..blobs import BlobStore
from ..container import StageDeps
from ..errors import Forbidden, Unauthorized
from ..settings import Settings

ROLE_RANK = {role: rank for rank, role in enumerate(API_KEY_ROLES)}
BEARER = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer sg_...`")


@dataclass
class Services:
    """What the routes use, built once when the app starts."""

    settings: Settings
    store: AuditStore
    blobs: BlobStore
    deps: StageDeps


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key's id and role."""

    key_id: str
    role: str


def services(request: Request) -> Services:
    """The services the app built at start-up."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]


def caller(
    svc: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    request: Request,
) -> Caller | None:
    """The caller named by the bearer key, None without one; 401 for a bad or unknown key."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("unauthorized", "use 'Authorization: Bearer <api key>'")
        return None
    key = svc.store.authenticate(credentials.credentials.strip())
    if key is None:
        raise Unauthorized("unauthorized", "unknown or revoked API key")
    return Caller(key_id=key.id, role=key.role)


def require(role: str) -> object:
    """Dependency: the caller must hold `role` or a stronger one."""

    def check(who: Annotated[Caller | None, Depends(caller)]) -> Caller:
        if who is None:
            raise Unauthorized("unauthorized", "an API key is required (Authorization: Bearer)")
        if ROLE_RANK[who.role] < ROLE_RANK[role]:
            raise Forbidden("forbidden", f"this endpoint needs the {role} role")
        return who

    return Depends(check)


SubmitterDep = Annotated[Caller, require("submitter")]
ReviewerDep = Annotated[Caller, require("reviewer")]
AdminDep = Annotated[Caller, require("admin")]
