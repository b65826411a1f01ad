"""Console sign-in: an API key exchanged for a signed, expiring, HttpOnly session cookie with a
CSRF token that every form post must carry back."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from audit.store import AuditStore

from ...errors import Forbidden
from ..deps import ROLE_RANK, ServicesDep

COOKIE = "sg_console"
# Before a session exists, the sign-in form's CSRF token rides in its own short-lived cookie.
SIGN_IN_COOKIE = "sg_console_sign_in"
SIGN_IN_FORM_S = 600
COOKIE_PATH = "/console"
CONSOLE_ROLE = "reviewer"
# Signs sessions when STILLGUARD_CONSOLE_SECRET is unset: sign-ins then last one process's life.
PROCESS_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in reviewer: the API key's id and role, and the session's CSRF token."""

    key_id: str
    role: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Admins see the operator links too."""
        return self.role == "admin"


class SignInRequired(Exception):
    """No session, an expired or forged one, or a revoked key: back to the sign-in page.

    Its one argument names the note the sign-in page shows (never text from the request)."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


def _serializer(svc: ServicesDep) -> URLSafeTimedSerializer:
    configured = svc.settings.console_secret
    secret = configured.get_secret_value() if configured else PROCESS_SECRET
    return URLSafeTimedSerializer(secret, salt="stillguard-console-session")


def _active_role(store: AuditStore, key_id: str) -> str | None:
    key = next((k for k in store.list_api_keys() if k.id == key_id), None)
    return key.role if key is not None and key.active else None


def with_sign_in_token(request: Request, render: Callable[[str], Response]) -> Response:
    """The sign-in page rendered with the token its form carries back, and the same token in a
    SameSite=Strict cookie (double submit): a page on another site cannot sign a victim's
    browser in with the attacker's key."""
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = render(token)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=SIGN_IN_FORM_S,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def check_sign_in_form(request: Request, token: str) -> None:
    """Refuse a sign-in post whose token is not the one this browser's sign-in page handed out."""
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not token or not hmac.compare_digest(token, expected):
        raise Forbidden("csrf_failed", "the sign-in form was not this site's; reload the page")


def sign_in(svc: ServicesDep, request: Request, response: Response, api_key: str) -> None:
    """Check the key (a reviewer's or an admin's) and set the session cookie on `response`."""
    key = svc.store.authenticate(api_key.strip()) if api_key.strip() else None
    if key is None:
        raise SignInRequired("bad_key")
    if ROLE_RANK[key.role] < ROLE_RANK[CONSOLE_ROLE]:
        raise Forbidden("forbidden", "the console is for reviewers; this key is a submitter's")
    token = _serializer(svc).dumps({"k": key.id, "c": secrets.token_urlsafe(24)})
    response.set_cookie(
        COOKIE,
        token,
        max_age=svc.settings.console_session_s,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def sign_out(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def current_session(request: Request, svc: ServicesDep) -> ConsoleSession:
    """The signed-in reviewer; SignInRequired once the cookie is missing, forged or expired,
    or its key was revoked (checked on every request, not only at sign-in)."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired("required")
    try:
        data = _serializer(svc).loads(token, max_age=svc.settings.console_session_s)
    except BadSignature as exc:  # SignatureExpired is a BadSignature
        raise SignInRequired("expired") from exc
    role = _active_role(svc.store, str(data.get("k", "")))
    if role is None or ROLE_RANK[role] < ROLE_RANK[CONSOLE_ROLE]:
        raise SignInRequired("revoked")
    return ConsoleSession(key_id=data["k"], role=role, csrf=str(data.get("c", "")))


def check_csrf(session: ConsoleSession, token: str | None) -> None:
    """Refuse a form post that does not carry this session's CSRF token."""
    if not token or not hmac.compare_digest(token, session.csrf):
        raise Forbidden("csrf_failed", "the form had no valid CSRF token; reload the page")


SessionDep = Annotated[ConsoleSession, Depends(current_session)]
