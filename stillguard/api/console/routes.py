"""The reviewer console's pages: sign-in, the queue, a job (photo, clip, timeline, decision),
the audit explorer. Server-side templates; the only script draws the timeline."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from audit.records import AuditQuery, EventDraft

from ...errors import Forbidden, InvalidInput, NotFound, StillguardError
from ...observability import REQUEST_ID
from ...services.admin import policy_history
from ...services.review import claim, decide
from ...services.review_media import held_clip, input_photo, timeline
from ..deps import ServicesDep
from ..errors import status_of
from ..routes.review_media import media_response
from . import views
from .session import (
    ConsoleSession,
    SessionDep,
    SignInRequired,
    check_csrf,
    check_sign_in_form,
    sign_in,
    sign_out,
    with_sign_in_token,
)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE.parent / "templates" / "console")
STATIC = HERE.parent / "static" / "console"
STATIC_FILES = {"console.css": "text/css", "timeline.js": "text/javascript"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SIGN_IN_NOTES = {
    "expired": "Your session has expired. Sign in again.",
    "required": "Sign in with a reviewer's API key.",
    "signed_out": "You are signed out.",
    "revoked": "That key was revoked or is no longer a reviewer's.",
    "bad_key": "Unknown or revoked API key.",
}
AUDIT_PAGE = 50
AUDIT_EXPORT_LIMIT = 1000


class ConsoleRoute(APIRoute):
    """Console answers are pages: a lapsed session goes back to sign-in, an error is a page
    in the console's frame (not JSON), and every answer carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = RedirectResponse(_sign_in_url(request, exc), status_code=303)
            except StillguardError as exc:
                response = templates.TemplateResponse(
                    request,
                    "error.html",
                    {
                        "error": exc,
                        "status": status_of(exc),
                        "session": None,
                        "request_id": REQUEST_ID.get(),
                    },
                    status_code=status_of(exc),
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page


router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def _sign_in_url(request: Request, exc: SignInRequired) -> str:
    wanted = request.url.path if request.method == "GET" else "/console"
    return "/console/sign-in?" + urlencode({"next": wanted, "note": exc.note})


def _safe_next(target: str) -> str:
    """Only a console path: never another site (`//host`) after signing in."""
    return target if target.startswith("/console") and not target.startswith("//") else "/console"


def _page(request: Request, name: str, session: ConsoleSession | None, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"session": session, **context})


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The console's own CSS and script, served from this package (no CDN)."""
    if name not in STATIC_FILES:
        raise NotFound("not_found", f"no console file {name}")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/console", note: str = "") -> Response:
    """The sign-in form: an API key in, a session cookie out."""
    return _sign_in_form(request, next, SIGN_IN_NOTES.get(note, ""), status_code=200)


class SignInForm(BaseModel):
    """The sign-in page's form: the key, where to go next, the page's CSRF token."""

    api_key: str = ""
    next: str = "/console"
    csrf: str = ""


class DecisionForm(BaseModel):
    """A job page's decision form: approve or block, the required reason, the CSRF token."""

    csrf: str = ""
    action: str = ""
    reason: str = ""


@router.post("/sign-in")
def sign_in_post(
    request: Request, svc: ServicesDep, form: Annotated[SignInForm, Form()]
) -> Response:
    """Exchange a reviewer's (or admin's) API key for a session; a bad key stays here."""
    check_sign_in_form(request, form.csrf)
    response = RedirectResponse(_safe_next(form.next), status_code=303)
    try:
        sign_in(svc, request, response, form.api_key)
    except SignInRequired:
        return _sign_in_form(request, form.next, SIGN_IN_NOTES["bad_key"], status_code=401)
    return response


def _sign_in_form(request: Request, next: str, note: str, status_code: int) -> Response:
    return with_sign_in_token(
        request,
        lambda token: templates.TemplateResponse(
            request,
            "sign_in.html",
            {"session": None, "next": _safe_next(next), "note": note, "csrf": token},
            status_code=status_code,
        ),
    )


@router.post("/sign-out")
def sign_out_post(session: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session."""
    check_csrf(session, csrf)
    response = RedirectResponse("/console/sign-in?note=signed_out", status_code=303)
    sign_out(response)
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, svc: ServicesDep) -> Response:
    """The review queue, oldest first, with each job's age and why it was held."""
    return _page(request, "queue.html", session, rows=views.queue(svc.deps))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, session: SessionDep, svc: ServicesDep) -> Response:
    """A held job: photo, prompt, the clip with its timeline, the rules, history, decision."""
    return _page(request, "job.html", session, **views.job_page(svc.deps, job_id))


@router.get("/jobs/{job_id}/input")
def job_input(job_id: str, _: SessionDep, svc: ServicesDep) -> FileResponse:
    """The submitted photo for the page (the session stands in for the bearer key)."""
    return media_response(input_photo(svc.deps, job_id))


@router.get("/jobs/{job_id}/clip")
def job_clip(job_id: str, _: SessionDep, svc: ServicesDep) -> FileResponse:
    """The held clip for the page's player, seekable by Range."""
    return media_response(held_clip(svc.deps, job_id))


@router.get("/jobs/{job_id}/timeline.json")
def job_timeline(job_id: str, _: SessionDep, svc: ServicesDep) -> dict[str, Any]:
    """The scores the timeline plot draws (the same JSON as GET /v1/jobs/{id}/timeline)."""
    return timeline(svc.deps, job_id)


def _checked_form(svc: ServicesDep, session: ConsoleSession, job_id: str, csrf: str) -> None:
    """Refuse a post without this session's CSRF token, and audit the refusal: who, on what."""
    try:
        check_csrf(session, csrf)
    except StillguardError as exc:
        job = svc.store.get_job(job_id)
        svc.store.append(
            EventDraft(
                job_id=job.id if job else None,
                stage="review",
                kind="console.refused",
                action="refuse",
                reasons=[exc.message],
                payload={"reviewer": session.key_id, "code": exc.code, "path": f"jobs/{job_id}"},
            )
        )
        raise


@router.post("/jobs/{job_id}/claim")
def claim_post(
    job_id: str, session: SessionDep, svc: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Claim the job so no other reviewer decides it while this one looks."""
    _checked_form(svc, session, job_id, csrf)
    claim(svc.deps, job_id, session.key_id)
    return RedirectResponse(f"/console/jobs/{job_id}", status_code=303)


@router.post("/jobs/{job_id}/decision")
def decision_post(
    job_id: str, session: SessionDep, svc: ServicesDep, form: Annotated[DecisionForm, Form()]
) -> Response:
    """Approve (the job resumes) or block (it is refused), with a required reason."""
    _checked_form(svc, session, job_id, form.csrf)
    decide(svc.deps, job_id, action=form.action, reason=form.reason, reviewer=session.key_id)
    return RedirectResponse(f"/console/jobs/{job_id}", status_code=303)


@router.get("/policies", response_class=HTMLResponse)
def policies_page(request: Request, session: SessionDep, svc: ServicesDep) -> Response:
    """Admins only: the policy versions and every switch, so a decision can be traced to its pack."""
    if not session.is_admin:
        raise Forbidden("forbidden", "the policy history is for admins")
    history = policy_history(svc.deps)
    return _page(request, "policies.html", session, active=svc.deps.policy.version, **history)


@router.get("/audit", response_model=None)
def audit_page(
    request: Request,
    session: SessionDep,
    svc: ServicesDep,
    job: str = "",
    stage: str = "",
    kind: str = "",
    action: str = "",
    policy: str = "",
    since: str = "",
    until: str = "",
    after: Annotated[int | None, Query(ge=0)] = None,
    format: str = "html",
) -> Response:
    """The audit log with filters and keyset paging; `format=csv|json` exports the page."""
    exporting = format in ("csv", "json")
    limit = AUDIT_EXPORT_LIMIT if exporting else AUDIT_PAGE
    filters = {"job": job, "stage": stage, "kind": kind, "action": action, "policy": policy}
    filters |= {"since": since, "until": until}
    query = AuditQuery(
        job_id=job or None,
        stage=stage or None,
        kind=kind or None,
        action=action or None,
        policy_version=policy or None,
        since=_when(since, "since"),
        until=_when(until, "until"),
        limit=limit,
        after_seq=after,
    )
    events = svc.store.events(query)
    next_after = events[-1].seq if len(events) == limit else None
    if format == "json":
        body = {"events": [e.to_dict() for e in events], "next_after": next_after}
        text = json.dumps(body, indent=1)
        return Response(text, media_type="application/json", headers=_download("json"))
    if format == "csv":
        return Response(views.audit_csv(events), media_type="text/csv", headers=_download("csv"))
    kept = {name: value for name, value in filters.items() if value}
    return _page(
        request,
        "audit.html",
        session,
        events=[e.to_dict() for e in events],
        filters=filters,
        next_url=f"?{urlencode({**kept, 'after': next_after})}" if next_after else None,
        export_query=urlencode({**kept, **({"after": after} if after else {})}),
    )


def _when(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("invalid_time", f"{name}: use an ISO 8601 time") from exc


def _download(extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="stillguard-audit.{extension}"'}
