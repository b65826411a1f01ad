"""The HTTP contract: every endpoint's role table, and an OpenAPI document that states it."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.api.app import ROUTERS
from stillguard.container import open_store
from tests.support.journey import settings_for

UNKNOWN_JOB = "0" * 32
PUBLIC, SUBMITTER, REVIEWER, ADMIN = None, "submitter", "reviewer", "admin"
CALLERS = ("anonymous", "forged", SUBMITTER, REVIEWER, ADMIN)
RANK = {SUBMITTER: 0, REVIEWER: 1, ADMIN: 2}
CONSOLE = "/console"

# (method, route template, the weakest role allowed, request that changes nothing when allowed)
ENDPOINTS: list[tuple[str, str, str | None, dict]] = [
    ("POST", "/v1/jobs", SUBMITTER, {"files": {"image": ("p.jpg", b"", "image/jpeg")}}),
    ("POST", "/v1/jobs/{job_id}/extend", SUBMITTER, {"json": {"duration_s": 9}}),
    ("GET", "/v1/jobs/{job_id}", SUBMITTER, {}),
    ("GET", "/v1/jobs/{job_id}/video", SUBMITTER, {}),
    ("GET", "/v1/jobs/{job_id}/reasons", SUBMITTER, {}),
    ("POST", "/v1/jobs/{job_id}/appeal", SUBMITTER, {"json": {"text": "it is a lake"}}),
    ("POST", "/v1/check", SUBMITTER, {"data": {"prompt": "calm lake"}}),
    ("GET", "/v1/audit", REVIEWER, {"params": {"limit": 1}}),
    ("GET", "/v1/reviews", REVIEWER, {}),
    ("POST", "/v1/reviews/{job_id}/decision", REVIEWER, {"json": {"action": "x", "reason": "r"}}),
    ("POST", "/v1/reviews/{job_id}/claim", REVIEWER, {}),
    ("GET", "/v1/jobs/{job_id}/input", REVIEWER, {}),
    ("GET", "/v1/jobs/{job_id}/clip", REVIEWER, {"headers": {"Range": "bytes=0-1"}}),
    ("GET", "/v1/jobs/{job_id}/timeline", REVIEWER, {}),
    ("GET", "/v1/policies", ADMIN, {}),
    ("PUT", "/v1/policies", ADMIN, {"content": b"not: [a pack"}),
    ("POST", "/v1/policies/versions", ADMIN, {"content": b"not: [a pack"}),
    ("GET", "/v1/policies/history", ADMIN, {}),
    ("POST", "/v1/policies/versions/{version}/activate", ADMIN, {}),
    ("POST", "/v1/policies/rollback", ADMIN, {}),
    ("PUT", "/v1/policies/shadow/{version}", ADMIN, {}),
    ("DELETE", "/v1/policies/shadow", ADMIN, {"params": {"surface": "BAD SURFACE"}}),
    ("GET", "/v1/policies/shadow/report", ADMIN, {}),
    ("GET", "/v1/hash-banks", ADMIN, {}),
    ("PUT", "/v1/hash-banks/{name}", ADMIN, {"content": b"not a hash"}),
    ("PUT", "/v1/webhook", SUBMITTER, {"json": {"url": "ftp://example.org/x"}}),
    ("GET", "/v1/webhook", SUBMITTER, {}),
    ("DELETE", "/v1/webhook", SUBMITTER, {}),
    ("POST", "/v1/verify", PUBLIC, {"files": {"file": ("f.txt", b"hello", "text/plain")}}),
    ("GET", "/v1/matches/byBinding", PUBLIC, {"params": {"alg": "x", "value": "y"}}),
    ("POST", "/v1/matches/byContent", PUBLIC, {"files": {"file": ("f", b"x", "video/mp4")}}),
    ("GET", "/", PUBLIC, {}),
    ("GET", "/verify", PUBLIC, {}),
    ("POST", "/tsa", PUBLIC, {"content": b"x", "headers": {"content-type": "text/plain"}}),
    ("GET", "/healthz", PUBLIC, {}),
    ("GET", "/readyz", PUBLIC, {}),
    ("GET", "/metrics", PUBLIC, {}),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("contract-home"))
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in RANK}
    headers = {role: {"Authorization": f"Bearer {secret}"} for role, secret in keys.items()}
    headers |= {"anonymous": {}, "forged": {"Authorization": "Bearer sg_forged"}}
    with TestClient(create_app(settings)) as client:
        yield client, headers


def test_the_role_table_names_every_endpoint() -> None:
    served = {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if not route.path.startswith(CONSOLE)  # pages with a session cookie: test_console_session
    }
    listed = {(method, path) for method, path, _, _ in ENDPOINTS}
    assert served == listed


@pytest.mark.parametrize(("method", "path", "role", "request_kw"), ENDPOINTS)
@pytest.mark.parametrize("caller", CALLERS)
def test_every_endpoint_answers_each_role_as_its_table_says(
    api, method: str, path: str, role: str | None, request_kw: dict, caller: str
) -> None:
    client, headers = api
    url = path.format(job_id=UNKNOWN_JOB, name="bank", version="v0")
    extra_headers = request_kw.get("headers", {})
    kw = {k: v for k, v in request_kw.items() if k != "headers"}
    answer = client.request(method, url, headers={**headers[caller], **extra_headers}, **kw)
    if role is None:
        expected_denial = 401 if caller == "forged" and path.startswith("/v1/") else None
        assert answer.status_code not in (401, 403) or expected_denial == answer.status_code
        return
    if caller in ("anonymous", "forged"):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"
    elif RANK[caller] < RANK[role]:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
    else:
        assert answer.status_code not in (401, 403, 500), answer.text


def test_openapi_states_responses_errors_and_the_bearer_scheme(api) -> None:
    client, _ = api
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    for method, path, role, _ in ENDPOINTS:
        operation = spec["paths"].get(path, {}).get(method.lower())
        if operation is None:  # pages and metrics are left out of the schema on purpose
            assert path in ("/", "/verify", "/tsa", "/metrics")
            continue
        assert operation.get("summary") and operation.get("description"), (method, path)
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][ok].get("content", {})
        assert content, (method, path, "no response schema")
        if role is not None:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            assert operation.get("security"), (method, path)
        for code, answer in operation["responses"].items():
            if code[0] == "4" or (code == "503" and path != "/readyz"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema.get("$ref", "").endswith("/ErrorResponse"), (method, path, code)
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "request_id"}
