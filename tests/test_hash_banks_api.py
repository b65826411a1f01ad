"""Known-bad hash banks loaded through the API stop matching photos at the input gate."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safety.hashes import pdq_hash
from stillguard.api import create_app
from stillguard.container import open_store
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("banks-home"))
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "admin")}
    with TestClient(create_app(settings)) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}


def test_photo_in_an_uploaded_bank_is_refused_and_the_reason_names_the_bank(api) -> None:
    client, keys = api
    digest, _quality = pdq_hash(Image.open(SAMPLE_PHOTO).convert("RGB"))
    bank = f"# test bank\n{digest.hex()},known-bad-sample\n"
    assert (
        client.put(
            "/v1/hash-banks/known-bad", content=bank.encode(), headers=keys["submitter"]
        ).status_code
        == 403
    )
    bad = client.put("/v1/hash-banks/known-bad", content=b"not-a-hash\n", headers=keys["admin"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_hash_bank"
    hostile = client.put("/v1/hash-banks/..%2Fescape", content=bank.encode(), headers=keys["admin"])
    assert hostile.status_code in (400, 404)
    loaded = client.put("/v1/hash-banks/known-bad", content=bank.encode(), headers=keys["admin"])
    assert loaded.status_code == 200 and loaded.json() == {"name": "known-bad", "hashes": 1}
    listed = client.get("/v1/hash-banks", headers=keys["admin"]).json()["banks"]
    assert listed == [{"name": "known-bad", "hashes": 1}]

    response = client.post(
        "/v1/jobs",
        files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
        data={"options": json.dumps(SMALL_CLIP)},
        headers=keys["submitter"],
    )
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/v1/jobs/{job_id}", headers=keys["submitter"]).json())[
        "status"
    ] not in ("refused", "published", "failed", "held") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["status"] == "refused"
    input_decision = job["decisions"][0]
    assert input_decision["action"] == "block"
    assert any("hash.known-bad" in reason for reason in input_decision["reasons"])
