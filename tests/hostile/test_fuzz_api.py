"""Schemathesis against `/openapi.json` (issue 15): with a key of each role, every generated
request is answered without a 5xx and as the document says (status, content type, schema).

The budget is small in the suite; raise it for a release check with
`STILLGUARD_FUZZ_EXAMPLES=200` (see the README's testing section).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stillguard.api import create_app
from stillguard.container import open_store
from tests.hostile.budget import EXAMPLES, fuzz_settings
from tests.support.journey import settings_for

ROLES = ("submitter", "reviewer", "admin")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    home: Path = tmp_path_factory.mktemp("fuzz-api")
    config = settings_for(home)
    store = open_store(config)
    KEYS.update({role: store.create_api_key(role)[1] for role in ROLES})
    store.close()
    application = create_app(config)
    with TestClient(application):  # runs the lifespan: the services exist while we fuzz
        yield application


def test_every_operation_answers_as_documented_for_every_role(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @fuzz_settings(EXAMPLES)
        def answers_as_documented(case) -> None:
            for role in ROLES:
                headers = {"Authorization": f"Bearer {KEYS[role]}"}
                case.call_and_validate(headers=headers, checks=CHECKS)

        answers_as_documented()
