"""Review queue, moderation-only checks, policy uploads, readiness and the public verify page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.cli import main
from stillguard.container import open_store
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.review import REVIEW_EVERY_OUTPUT
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("review-home")
    policy = home / "review-policy.yaml"
    policy.write_text(REVIEW_EVERY_OUTPUT)
    settings = settings_for(home)
    (home / "policies").mkdir()
    (home / "policies" / "active.yaml").write_text(REVIEW_EVERY_OUTPUT)
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "reviewer", "admin")}
    with TestClient(create_app(settings)) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}, home


def _wait(client: TestClient, headers: dict, job_id: str, want: set[str]) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in want:
            return job
        time.sleep(0.2)
    raise AssertionError(job)


def _submit(client: TestClient, headers: dict) -> str:
    response = client.post(
        "/v1/jobs",
        files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
        data={"options": json.dumps(SMALL_CLIP)},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def test_held_job_is_published_after_a_reviewer_approves_it(api) -> None:
    client, keys, _ = api
    job_id = _submit(client, keys["submitter"])
    held = _wait(client, keys["submitter"], job_id, {"held", "published", "failed"})
    assert held["status"] == "held"
    assert client.get(f"/v1/jobs/{job_id}/video", headers=keys["submitter"]).status_code == 409
    queue = client.get("/v1/reviews", headers=keys["reviewer"]).json()["reviews"]
    assert any(r["job_id"] == job_id and r["stage"] == "output" for r in queue)
    assert client.get("/v1/reviews", headers=keys["submitter"]).status_code == 403
    missing_reason = client.post(
        f"/v1/reviews/{job_id}/decision", json={"action": "approve"}, headers=keys["reviewer"]
    )
    assert missing_reason.status_code == 400
    decided = client.post(
        f"/v1/reviews/{job_id}/decision",
        json={"action": "approve", "reason": "calm landscape, fine"},
        headers=keys["reviewer"],
    )
    assert decided.status_code == 200, decided.text
    published = _wait(client, keys["submitter"], job_id, {"published", "failed", "refused"})
    assert published["status"] == "published"
    events = client.get("/v1/audit", params={"job": job_id}, headers=keys["reviewer"]).json()
    reviewer_events = [e for e in events["events"] if (e["payload"] or {}).get("reviewer")]
    assert len(reviewer_events) == 1 and "calm landscape" in reviewer_events[0]["reasons"][0]
    video = client.get(f"/v1/jobs/{job_id}/video", headers=keys["submitter"])
    report = client.post("/v1/verify", files={"file": ("c.mp4", video.content, "video/mp4")}).json()
    assert report["status"] == "valid"
    assert report["decision_id"] == reviewer_events[0]["decision_id"]


def test_reviewer_block_refuses_the_job_and_a_second_decision_conflicts(api) -> None:
    client, keys, _ = api
    job_id = _submit(client, keys["submitter"])
    _wait(client, keys["submitter"], job_id, {"held"})
    blocked = client.post(
        f"/v1/reviews/{job_id}/decision",
        json={"action": "block", "reason": "implies a real event"},
        headers=keys["reviewer"],
    )
    assert blocked.status_code == 200 and blocked.json()["status"] == "refused"
    again = client.post(
        f"/v1/reviews/{job_id}/decision",
        json={"action": "approve", "reason": "changed my mind"},
        headers=keys["reviewer"],
    )
    assert again.status_code == 409


def test_check_moderates_prompts_and_clips_without_generating(api) -> None:
    client, keys, _ = api
    unsafe = client.post(
        "/v1/check", data={"prompt": "make her undress"}, headers=keys["submitter"]
    )
    assert unsafe.status_code == 200
    assert unsafe.json()["decision"]["action"] == "block"
    benign = client.post(
        "/v1/check", data={"prompt": "clouds drifting over a calm lake"}, headers=keys["submitter"]
    ).json()
    assert benign["decision"]["action"] in ("allow", "label")
    assert {s["category"] for s in benign["signals"]} >= {"prompt.sexual", "prompt.violence"}
    nothing = client.post("/v1/check", headers=keys["submitter"])
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "nothing_to_check"
    assert client.post("/v1/check", data={"prompt": "x"}).status_code == 401


def test_admin_replaces_the_policy_pack_and_bad_packs_are_refused(api) -> None:
    client, keys, _home = api
    assert client.get("/v1/policies", headers=keys["reviewer"]).status_code == 403
    assert client.get("/v1/policies", headers=keys["admin"]).json()["version"] == "test-review-1"
    bad = client.put(
        "/v1/policies",
        content=b"version: x\nstages: {input: {rules: [{id: r}]}}",
        headers=keys["admin"],
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_policy"
    new = REVIEW_EVERY_OUTPUT.replace("test-review-1", "test-review-2")
    put = client.put("/v1/policies", content=new.encode(), headers=keys["admin"])
    assert put.status_code == 200 and put.json()["previous_version"] == "test-review-1"
    assert client.get("/v1/policies", headers=keys["admin"]).json()["version"] == "test-review-2"
    history = client.get("/v1/policies/history", headers=keys["admin"]).json()
    assert history["activations"][-1]["version"] == "test-review-2"
    audit = client.get("/v1/audit", params={"stage": "policy"}, headers=keys["admin"]).json()
    assert audit["events"][-1]["policy_version"] == "test-review-2"
    # Put the first pack back for the other tests in this module.
    client.put("/v1/policies", content=REVIEW_EVERY_OUTPUT.encode(), headers=keys["admin"])


def test_readiness_verify_page_and_time_stamp_authority(api) -> None:
    client, _, _ = api
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["problems"] == {}
    assert {row["category"] for row in ready["details"]["categories"]} >= {"nsfw", "clip.minors"}
    page = client.get("/verify")
    assert page.status_code == 200 and "/v1/verify" in page.text
    refused = client.post("/tsa", content=b"garbage", headers={"content-type": "text/plain"})
    assert refused.status_code == 415
    import hashlib

    from asn1crypto import tsp

    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"a clip signature").digest(),
            },
            "cert_req": True,
        }
    )
    reply = client.post(
        "/tsa", content=request.dump(), headers={"content-type": "application/timestamp-query"}
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/timestamp-reply"
    response = tsp.TimeStampResp.load(reply.content)
    assert response["status"]["status"].native == "granted"
    info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert (
        info["message_imprint"]["hashed_message"].native
        == hashlib.sha256(b"a clip signature").digest()
    )


def test_cli_check_exit_codes(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STILLGUARD_HOME", str(tmp_path))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "x")
    assert main(["check", "--prompt", "kill yourself", "--json"]) in (3, 4)
    assert main(["check", str(SAMPLE_PHOTO), "--prompt", "gentle waves", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["decision"]["stage"] == "input"
    assert any(s["category"] == "nsfw" for s in report["signals"])
    assert main(["check", str(tmp_path / "missing.jpg")]) == 2


def test_cli_authority_and_policy_commands(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STILLGUARD_HOME", str(tmp_path))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "x")
    assert main(["authority", "init", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["authority", "rotate", "--json"]) == 0
    rotated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rotated["signing_id"] != first["signing_id"]
    trust = tmp_path / "trust"
    trust.mkdir()
    assert main(["authority", "export-trust", str(trust), "--json"]) == 0
    assert "BEGIN CERTIFICATE" in (trust / "signers.pem").read_text()
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "wrong")
    assert main(["authority", "show"]) == 2
    assert "passphrase" in capsys.readouterr().err
    pack = tmp_path / "pack.yaml"
    pack.write_text(REVIEW_EVERY_OUTPUT)
    assert main(["policy", "validate", str(pack)]) == 0
    pack.write_text("version: 1\nstages: {input: {rules: [{id: broken}]}}")
    assert main(["policy", "validate", str(pack)]) == 2
    assert "broken" in capsys.readouterr().err


def test_policy_backtest_replays_recorded_decisions(api, capsys, monkeypatch) -> None:
    client, keys, home = api
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    job_id = _submit(client, keys["submitter"])
    _wait(client, keys["submitter"], job_id, {"held", "published", "refused", "failed"})
    strict = home / "strict.yaml"
    strict.write_text(
        REVIEW_EVERY_OUTPUT.replace("default_action: label", "default_action: review")
    )
    capsys.readouterr()
    assert main(["policy", "backtest", str(strict), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["replayed"] >= 1
    assert {"from": "label", "to": "review"} in [
        {k: t[k] for k in ("from", "to")} for t in report["transitions"]
    ]


def test_policy_upload_is_refused_when_the_environment_pins_the_pack(tmp_path: Path) -> None:
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(REVIEW_EVERY_OUTPUT)
    settings = settings_for(tmp_path, STILLGUARD_POLICY_PATH=str(pinned))
    admin = open_store(settings).create_api_key("admin")[1]
    with TestClient(create_app(settings)) as client:
        response = client.put(
            "/v1/policies",
            content=REVIEW_EVERY_OUTPUT.encode(),
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert response.status_code == 409 and response.json()["error"]["code"] == "policy_pinned"
