"""Hostile input the attacker of issue 15 found: each is a clear 4xx and changes nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.container import open_store
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("hostile")
    overrides = {}
    if request.param == "postgresql":
        from tests.support.postgres import fresh_database

        database = fresh_database()
        overrides["STILLGUARD_DATABASE_URL"] = database.__enter__()
        request.addfinalizer(lambda: database.__exit__(None, None, None))
    settings = settings_for(home, **overrides)
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "reviewer", "admin")}
    with TestClient(create_app(settings)) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}, store


@pytest.mark.parametrize(
    "options",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"seed": ' + "9" * 5000 + "}",
        json.dumps({**SMALL_CLIP, "motion_prompt": "waves\u0000"}),
    ],
    ids=["deep-list", "deep-object", "huge-int", "nul-in-motion-prompt"],
)
def test_hostile_options_are_refused_before_anything_is_stored(api, options: str) -> None:
    client, keys, store = api
    before = len(store.list_jobs(limit=1000))
    answer = client.post(
        "/v1/jobs",
        headers=keys["submitter"],
        files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
        data={"options": options},
    )
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"]["code"] == "invalid_option"
    assert len(store.list_jobs(limit=1000)) == before


@pytest.mark.parametrize(
    "params",
    [
        {"after": "99999999999999999999999"},
        {"after": "-1"},
        {"job": "abc\u0000"},
        {"stage": "\u0000"},
        {"action": "a\u0000b"},
        {"policy": "\u0000"},
    ],
)
def test_hostile_audit_queries_are_refused(api, params: dict[str, str]) -> None:
    client, keys, _ = api
    answer = client.get("/v1/audit", params=params, headers=keys["reviewer"])
    assert answer.status_code == 400, answer.text[:300]
    assert "SQL" not in answer.text and "Traceback" not in answer.text


def test_a_review_decision_on_a_nul_id_is_not_found(api) -> None:
    client, keys, _ = api
    answer = client.post(
        "/v1/reviews/%00/decision",
        json={"action": "approve", "reason": "x"},
        headers=keys["reviewer"],
    )
    assert answer.status_code == 404, answer.text[:300]


@pytest.mark.parametrize("name", ["abc%0A", "abc%00", "..%2Fx", "ABC"])
def test_bad_hash_bank_names_are_refused(api, name: str) -> None:
    client, keys, _ = api
    answer = client.put(f"/v1/hash-banks/{name}", content=b"", headers=keys["admin"])
    assert answer.status_code in (400, 404), answer.text[:300]


def test_a_hash_bank_label_with_a_nul_is_refused(api) -> None:
    client, keys, _ = api
    line = "f" * 64 + ",bad\u0000label\n"
    answer = client.put("/v1/hash-banks/labels", content=line.encode(), headers=keys["admin"])
    assert answer.status_code == 400, answer.text[:300]


def test_a_database_error_never_reaches_a_failed_jobs_reason_with_its_sql() -> None:
    from sqlalchemy.exc import DataError

    from streams.backend import describe_error

    error = DataError(
        "INSERT INTO audit_events (event_id, payload) VALUES (%(event_id)s, %(payload)s)",
        {"event_id": "x", "payload": "secret prompt"},
        ValueError("A string literal cannot contain NUL (0x00) characters."),
    )
    text = describe_error(error)
    assert "INSERT" not in text and "secret prompt" not in text and "SQL" not in text
    assert text.startswith("DataError")
