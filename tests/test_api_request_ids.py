"""Request ids (issue 15): every answer names its request, and a 500 tells the caller nothing else.

Internals (paths, SQL, tracebacks) go to the server log under the same id, so an operator can
find what a caller reports.
"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.api.routes import moderation
from stillguard.container import open_store
from tests.support.journey import settings_for

LEAKY = "cannot open /srv/stillguard/home/audit.sqlite3: [SQL: SELECT * FROM api_keys]"
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("request-ids"))
    with open_store(settings) as store:
        secret = store.create_api_key("submitter")[1]
    with TestClient(create_app(settings)) as client:
        yield client, {"Authorization": f"Bearer {secret}"}


def test_an_unexpected_error_answers_a_generic_500_and_logs_the_traceback_under_its_id(
    api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, key = api

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(LEAKY)

    monkeypatch.setattr(moderation, "check_content", broken)
    with caplog.at_level(logging.ERROR, logger="stillguard.api"):
        answer = client.post("/v1/check", headers=key, data={"prompt": "calm lake"})
    assert answer.status_code == 500
    request_id = answer.headers["X-Request-ID"]
    assert GENERATED.fullmatch(request_id)
    assert answer.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal error; the request was not completed",
            "request_id": request_id,
        }
    }
    assert "/srv" not in answer.text and "SQL" not in answer.text
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "Traceback" in caplog.text and LEAKY in caplog.text


def test_a_4xx_and_a_success_carry_the_request_id_too(api) -> None:
    client, key = api
    refused = client.post("/v1/check", headers=key, data={})
    assert refused.status_code == 400
    assert refused.json()["error"]["request_id"] == refused.headers["X-Request-ID"]
    unknown = client.get("/v1/jobs/" + "0" * 32)
    assert unknown.status_code == 401
    assert unknown.json()["error"]["request_id"] == unknown.headers["X-Request-ID"]
    healthy = client.get("/healthz")
    assert GENERATED.fullmatch(healthy.headers["X-Request-ID"])
    assert refused.headers["X-Request-ID"] != unknown.headers["X-Request-ID"]


def test_an_oversized_body_is_refused_with_the_request_id(api) -> None:
    client, key = api
    answer = client.post("/v1/check", headers={**key, "Content-Length": str(10**12)}, content=b"x")
    assert answer.status_code == 413
    assert answer.json()["error"]["request_id"] == answer.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-2026-11-28_abc.1", True),
        ("0b9c8a9e-7c1a-4d7e-9d1e-3b1f0a2c4d5e", True),
        ("short", False),
        ("x" * 65, False),
        ("a b c d e f g h", False),
        ("abc\u00e9defgh", False),
        ("</script><script>alert(1)", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(
    api, sent: str, kept: bool
) -> None:
    client, _ = api
    answer = client.get("/healthz", headers={"X-Request-ID": sent.encode()})
    returned = answer.headers["X-Request-ID"]
    assert (returned == sent) is kept
    if not kept:
        assert GENERATED.fullmatch(returned)
