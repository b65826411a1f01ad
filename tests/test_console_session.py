"""The console's gate without a browser: every page needs a live session of a reviewer's key, and
every form post needs the session's CSRF token."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response

from audit.records import EventDraft
from stillguard.api import console, create_app
from stillguard.container import open_store
from tests.support.journey import settings_for

UNKNOWN_JOB = "0" * 32
OPEN_PAGES = {"/console/sign-in", "/console/static/{name}"}
GATED = sorted(
    (method, route.path)
    for route in console.router.routes
    if isinstance(route, APIRoute) and route.path not in OPEN_PAGES
    for method in route.methods
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("console-session"))
    with open_store(settings) as store:
        keys = {role: store.create_api_key(role) for role in ("submitter", "reviewer", "admin")}
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, settings, keys


def _sign_in(client: TestClient, secret: str, next: str = "/console") -> Response:
    """Post the sign-in form as a browser would: with the token its page handed out."""
    client.cookies.clear()
    page = client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, "the sign-in form carries a CSRF token"
    form = {"api_key": secret, "next": next, "csrf": token.group(1)}
    return client.post("/console/sign-in", data=form)


def _signed_in(client: TestClient, secret: str) -> TestClient:
    answer = _sign_in(client, secret, "/console/audit")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/audit"
    return client


@pytest.mark.parametrize(("method", "path"), GATED)
def test_every_console_page_sends_a_caller_without_a_session_to_sign_in(app, method, path) -> None:
    client, _, _ = app
    client.cookies.clear()
    url = path.format(job_id=UNKNOWN_JOB)
    for cookie in (None, "forged.value.sig"):
        if cookie:
            client.cookies.set("sg_console", cookie, path="/console")
        answer = client.request(method, url)
        assert answer.status_code == 303, (method, path, answer.text)
        assert answer.headers["location"].startswith("/console/sign-in?")
        assert "Content-Security-Policy" in answer.headers


def test_the_session_cookie_is_httponly_strict_and_short(app) -> None:
    client, settings, keys = app
    answer = _sign_in(client, keys["reviewer"][1])
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert f"max-age={settings.console_session_s}" in cookie
    assert keys["reviewer"][1].lower() not in cookie  # the key itself never goes to the browser


def test_a_submitter_or_a_wrong_key_cannot_sign_in(app) -> None:
    client, _, keys = app
    submitter = _sign_in(client, keys["submitter"][1])
    assert submitter.status_code == 403 and "sg_console" not in submitter.headers.get(
        "set-cookie", ""
    )
    wrong = _sign_in(client, "sg_not_a_key")
    assert wrong.status_code == 401 and "Unknown or revoked" in wrong.text


def test_sign_in_only_returns_to_console_pages(app) -> None:
    client, _, keys = app
    answer = _sign_in(client, keys["admin"][1], "//evil.example/x")
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_a_sign_in_posted_from_another_site_is_refused(app) -> None:
    # Login CSRF: a hostile page posts its own reviewer key into the victim's browser. It has
    # neither the sign-in page's cookie (SameSite=Strict) nor the form's token.
    client, _, keys = app
    client.cookies.clear()
    forged = client.post("/console/sign-in", data={"api_key": keys["reviewer"][1]})
    assert forged.status_code == 403 and "sg_console=" not in forged.headers.get("set-cookie", "")
    assert "reload" in forged.text
    client.get("/console/sign-in")  # the victim's own sign-in cookie, but a guessed token
    guessed = client.post(
        "/console/sign-in", data={"api_key": keys["reviewer"][1], "csrf": "guessed"}
    )
    assert guessed.status_code == 403 and "sg_console=" not in guessed.headers.get("set-cookie", "")


def test_a_revoked_key_loses_its_session_at_once(app) -> None:
    client, settings, _ = app
    with open_store(settings) as store:
        key_id, secret = store.create_api_key("reviewer")
    _signed_in(client, secret)
    assert client.get("/console/audit").status_code == 200
    with open_store(settings) as store:
        store.revoke_api_key(key_id)
    answer = client.get("/console/audit")
    assert answer.status_code == 303 and "note=revoked" in answer.headers["location"]


def test_posts_need_the_csrf_token_and_exports_are_files(app) -> None:
    client, _, keys = app
    _signed_in(client, keys["reviewer"][1])
    refused = client.post(f"/console/jobs/{UNKNOWN_JOB}/decision", data={"action": "approve"})
    assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text
    assert client.post("/console/sign-out", data={"csrf": "wrong"}).status_code == 403
    exported = client.get("/console/audit", params={"format": "json"})
    assert exported.status_code == 200 and exported.json()["events"]
    assert "attachment" in exported.headers["content-disposition"]
    unknown = client.get(f"/console/jobs/{UNKNOWN_JOB}")
    assert unknown.status_code == 404 and "not_found" in unknown.text
    assert unknown.headers["X-Request-ID"] in unknown.text  # the id a reviewer can report
    assert client.get("/console/static/../../settings.py").status_code == 404


def test_the_audit_explorer_pages_by_keyset_and_filters(app) -> None:
    client, settings, keys = app
    with open_store(settings) as store:
        for n in range(60):
            store.append(
                EventDraft(job_id=None, stage="console-test", kind="note", reasons=[f"<i>n{n}</i>"])
            )
    _signed_in(client, keys["reviewer"][1])
    first = client.get("/console/audit", params={"stage": "console-test"})
    assert first.status_code == 200 and first.text.count("<tr>") == 1 + 50
    assert "&lt;i&gt;n0&lt;/i&gt;" in first.text and "<i>n0</i>" not in first.text
    link = first.text.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(link)
    assert second.text.count("<tr>") == 1 + 10 and 'id="next-page"' not in second.text
    exported = client.get("/console/audit", params={"stage": "console-test", "format": "csv"})
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("seq,created_at,job_id") and len(lines) == 1 + 60
    assert client.get("/console/audit", params={"since": "yesterday"}).status_code == 400


def test_pages_follow_the_role_admins_see_the_policy_history(app) -> None:
    client, _, keys = app
    _signed_in(client, keys["reviewer"][1])
    assert "nav-policies" not in client.get("/console/audit").text
    assert client.get("/console/policies").status_code == 403
    _signed_in(client, keys["admin"][1])
    assert "nav-policies" in client.get("/console/audit").text
    page = client.get("/console/policies")
    assert page.status_code == 200 and 'id="active-version"' in page.text
