"""Small leaks and gaps the attacker of issue 15 found (finding 8), each closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.container import open_store
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.media_bombs import black_mp4
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("gaps"))
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "reviewer", "admin")}
    with TestClient(create_app(settings)) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}


def test_a_corrupt_clip_is_refused_without_naming_server_paths(api) -> None:
    client, keys = api
    truncated = black_mp4(8, 192, 108)[:600]
    answer = client.post(
        "/v1/check", headers=keys["submitter"], files={"file": ("c.mp4", truncated)}
    )
    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    assert "/tmp" not in message and str(Path.cwd()) not in message and "clip.mp4" not in message


def test_only_its_submitter_may_extend_a_job(api) -> None:
    client, keys = api
    submitted = client.post(
        "/v1/jobs",
        headers=keys["submitter"],
        files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
        data={"options": json.dumps(SMALL_CLIP)},
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    for role in ("reviewer", "admin"):
        answer = client.post(
            f"/v1/jobs/{job_id}/extend", headers=keys[role], json={"duration_s": 4}
        )
        assert answer.status_code == 403, (role, answer.text)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/v1/verify", "POST"), ("PUT", "/v1/jobs", "POST"), ("POST", "/healthz", "GET")],
)
def test_a_405_names_the_allowed_methods(api, method: str, path: str, allowed: str) -> None:
    client, _ = api
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert allowed in answer.headers.get("Allow", "")
