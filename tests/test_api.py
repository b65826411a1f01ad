"""The HTTP API: roles on every endpoint, the journey, bad input and replayed requests."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from generation import decode_mp4
from generation.motion_prompt import parse_motion_prompt
from stillguard.api import create_app
from stillguard.container import open_store
from tests.support.journey import (
    SMALL_CLIP,
    giant_png_header,
    png_bytes,
    settings_for,
    wait_for,
)
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("api-home")
    settings = settings_for(home, STILLGUARD_MAX_UPLOAD_BYTES=str(2 * 1024 * 1024))
    store = open_store(settings)
    keys = {role: store.create_api_key(role) for role in ("submitter", "reviewer", "admin")}
    keys["other"] = store.create_api_key("submitter")
    with TestClient(create_app(settings)) as client:
        yield (
            client,
            {name: {"Authorization": f"Bearer {secret}"} for name, (_, secret) in keys.items()},
        )


def submit(client: TestClient, headers: dict, photo: bytes, **extra) -> object:
    files = {"image": ("photo.jpg", photo, "image/jpeg")}
    data = {"options": json.dumps(SMALL_CLIP), **extra.pop("data", {})}
    return client.post("/v1/jobs", files=files, data=data, headers={**headers, **extra})


@pytest.fixture(scope="module")
def published_job(api) -> dict:
    client, keys = api
    response = submit(
        client, keys["submitter"], SAMPLE_PHOTO.read_bytes(), **{"Idempotency-Key": "journey-1"}
    )
    assert response.status_code == 202, response.text
    return wait_for(client, keys["submitter"], response.json()["job_id"])


def test_submitted_job_is_published_and_its_video_verifies(api, published_job) -> None:
    client, keys = api
    assert published_job["status"] == "published"
    video = client.get(f"/v1/jobs/{published_job['job_id']}/video", headers=keys["submitter"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    report = client.post("/v1/verify", files={"file": ("clip.mp4", video.content, "video/mp4")})
    assert report.status_code == 200
    assert report.json()["status"] == "valid" and report.json()["ai_generated"] is True


def test_replayed_request_returns_the_same_job_and_a_changed_body_conflicts(
    api, published_job
) -> None:
    client, keys = api
    again = submit(
        client, keys["submitter"], SAMPLE_PHOTO.read_bytes(), **{"Idempotency-Key": "journey-1"}
    )
    assert again.status_code == 202 and again.json()["job_id"] == published_job["job_id"]
    changed = submit(client, keys["submitter"], png_bytes(), **{"Idempotency-Key": "journey-1"})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_conflict"


def test_roles_are_enforced_on_every_endpoint(api, published_job) -> None:
    client, keys = api
    job_id = published_job["job_id"]
    assert submit(client, {}, png_bytes()).status_code == 401
    assert submit(client, {"Authorization": "Bearer sg_forged"}, png_bytes()).status_code == 401
    assert client.get("/v1/audit", headers=keys["submitter"]).status_code == 403
    assert client.get(f"/v1/jobs/{job_id}", headers=keys["other"]).status_code == 404
    assert client.get(f"/v1/jobs/{job_id}/video", headers=keys["other"]).status_code == 404
    assert client.get(f"/v1/jobs/{job_id}", headers=keys["reviewer"]).status_code == 200
    assert client.get(f"/v1/jobs/{job_id}").status_code == 401
    audit = client.get("/v1/audit", params={"job": job_id}, headers=keys["reviewer"])
    assert audit.status_code == 200
    assert {e["kind"] for e in audit.json()["events"]} >= {"job.created", "decision", "published"}
    assert client.get("/healthz").json()["status"] == "ok"


def test_audit_pages_with_a_keyset_cursor(api, published_job) -> None:
    client, keys = api
    first = client.get("/v1/audit", params={"limit": 2}, headers=keys["admin"]).json()
    assert len(first["events"]) == 2 and first["next_after"] == first["events"][-1]["seq"]
    second = client.get(
        "/v1/audit", params={"limit": 2, "after": first["next_after"]}, headers=keys["admin"]
    ).json()
    assert second["events"][0]["seq"] > first["events"][-1]["seq"]


@pytest.mark.parametrize(
    ("photo", "status", "code"),
    [
        (b"", 400, "empty_image"),
        (SAMPLE_PHOTO.read_bytes()[:2500], 400, "corrupt_image"),
        (b"%PDF-1.7 not a photo" * 10, 415, "unsupported_media_type"),
        (giant_png_header(), 413, "image_too_large"),
    ],
)
def test_bad_uploads_get_a_json_error(api, photo: bytes, status: int, code: str) -> None:
    client, keys = api
    response = submit(client, keys["submitter"], photo)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_overlong_prompt_bad_options_and_oversized_body_are_refused(api) -> None:
    client, keys = api
    long_prompt = submit(client, keys["submitter"], png_bytes(), data={"prompt": "y" * 2001})
    assert (
        long_prompt.status_code == 400 and long_prompt.json()["error"]["code"] == "prompt_too_long"
    )
    files = {"image": ("p.png", png_bytes(), "image/png")}
    bad = client.post(
        "/v1/jobs", files=files, data={"options": '{"duration_s": 99}'}, headers=keys["submitter"]
    )
    assert bad.status_code == 400 and "duration" in bad.json()["error"]["message"]
    huge = client.post(
        "/v1/jobs",
        files={"image": ("big.jpg", b"\0" * (3 * 1024 * 1024))},
        headers=keys["submitter"],
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"


def _frames(client: TestClient, headers: dict, job_id: str, folder) -> np.ndarray:
    video = client.get(f"/v1/jobs/{job_id}/video", headers=headers)
    assert video.status_code == 200
    path = folder / f"{job_id}.mp4"
    path.write_bytes(video.content)
    return decode_mp4(path).frames.astype(np.int16)


def test_an_extended_clip_starts_as_the_published_one_and_runs_on(
    api, published_job, tmp_path
) -> None:
    client, keys = api
    job_id = published_job["job_id"]
    answer = client.post(
        f"/v1/jobs/{job_id}/extend", json={"duration_s": 3.0}, headers=keys["submitter"]
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["extends"] == job_id
    extended = wait_for(client, keys["submitter"], answer.json()["job_id"])
    assert extended["status"] == "published"
    assert extended["options"]["duration_s"] == 3.0
    assert extended["options"]["seed"] == published_job["options"]["seed"]
    original = _frames(client, keys["submitter"], job_id, tmp_path)
    longer = _frames(client, keys["submitter"], extended["job_id"], tmp_path)
    assert (original.shape[0], longer.shape[0]) == (16, 24)
    audit = client.get("/v1/audit", params={"job": extended["job_id"]}, headers=keys["reviewer"])
    created = [e for e in audit.json()["events"] if e["kind"] == "job.created"]
    assert created[0]["payload"]["extends"] == job_id
    first = client.get("/v1/audit", params={"job": job_id}, headers=keys["reviewer"]).json()
    photo = [e["payload"]["input_blob"] for e in first["events"] if e["kind"] == "job.created"]
    assert created[0]["payload"]["input_blob"] == photo[0]  # the same photo, not a new upload
    # Same photo, options and seed continue the motion frame for frame: that is the generator's
    # contract, tested in test_generation_motion (the watermarks here carry different clip ids).


def test_extensions_that_cannot_be_made_are_refused_with_a_reason(api, published_job) -> None:
    client, keys = api
    job_id = published_job["job_id"]

    def extend(body: dict, who: str = "submitter", target: str = job_id):
        return client.post(f"/v1/jobs/{target}/extend", json=body, headers=keys[who])

    for body in ({"duration_s": 2.0}, {"duration_s": 30}, {"duration_s": "long"}, {}):
        answer = extend(body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_option")
    assert "over the clip's 2 s" in extend({"duration_s": 1.5}).json()["error"]["message"]
    assert extend({"duration_s": 3, "seed": 9}).status_code == 400
    assert extend({"duration_s": 3}, who="other").status_code == 404
    assert extend({"duration_s": 3}, target="0" * 32).status_code == 404
    assert client.post(f"/v1/jobs/{job_id}/extend", json={"duration_s": 3}).status_code == 401


def test_video_of_an_unpublished_or_unknown_job_is_refused(api) -> None:
    client, keys = api
    assert client.get("/v1/jobs/" + "0" * 32 + "/video", headers=keys["admin"]).status_code == 404
    assert client.get("/v1/jobs/../../etc/passwd", headers=keys["admin"]).status_code == 404


def _remux_without_metadata(data: bytes) -> bytes:
    """Copy the streams into a fresh MP4: the C2PA manifest does not survive, the pixels do."""
    import io

    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format="mp4") as dst:
        streams = {
            s.index: dst.add_stream_from_template(s) for s in src.streams if s.type == "video"
        }
        for packet in src.demux(*[s for s in src.streams if s.type == "video"]):
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
    return out.getvalue()


def test_stripped_copy_is_recovered_and_soft_bindings_resolve(api, published_job) -> None:
    client, keys = api
    job_id = published_job["job_id"]
    video = client.get(f"/v1/jobs/{job_id}/video", headers=keys["submitter"]).content
    stripped = _remux_without_metadata(video)
    report = client.post("/v1/verify", files={"file": ("s.mp4", stripped, "video/mp4")}).json()
    assert report["status"] == "recovered" and report["recovered_from"] == "watermark"
    assert report["job_id"] == job_id and report["original_status"] == "valid"

    by_content = client.post("/v1/matches/byContent", files={"file": ("s.mp4", stripped)}).json()
    assert [m["job_id"] for m in by_content["matches"]] == [job_id]
    audit = client.get("/v1/audit", params={"job": job_id}, headers=keys["reviewer"]).json()
    clip_id = next(e["payload"]["clip_id"] for e in audit["events"] if e["kind"] == "published")
    import base64

    value = base64.b64encode(clip_id.to_bytes(4, "big")).decode()
    for alg in ("com.stillguard.watermark.v2", "com.stillguard.watermark.v1"):  # v1: older clips
        by_binding = client.get("/v1/matches/byBinding", params={"alg": alg, "value": value}).json()
        assert by_binding["matches"][0]["job_id"] == job_id, alg
    unknown = client.get(
        "/v1/matches/byBinding", params={"alg": "com.stillguard.watermark.v2", "value": "AAAAAQ=="}
    ).json()
    assert unknown == {"matches": []}
    bad = client.get("/v1/matches/byBinding", params={"alg": "md5", "value": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_alg"


def _generated_event(client: TestClient, headers: dict, job_id: str) -> dict:
    audit = client.get("/v1/audit", params={"job": job_id}, headers=headers).json()
    return next(e for e in audit["events"] if e["kind"] == "clip.generated")


def test_the_prompt_steers_motion_as_in_the_cli_and_the_audit_records_the_parsed_motion(
    api,
) -> None:
    client, keys = api
    response = submit(
        client,
        keys["submitter"],
        SAMPLE_PHOTO.read_bytes(),
        data={"prompt": "clouds drifting left"},
    )
    assert response.status_code == 202, response.text
    job = wait_for(client, keys["submitter"], response.json()["job_id"])
    assert (
        job["status"] == "published" and job["options"]["motion_prompt"] == "clouds drifting left"
    )
    generated = _generated_event(client, keys["admin"], job["job_id"])
    expected = parse_motion_prompt("clouds drifting left").to_dict()
    assert generated["payload"]["scene"]["motion_prompt"] == expected
    assert expected["sky_direction"] == -1


def test_an_explicit_motion_prompt_wins_over_the_prompt_and_is_moderated_too(api) -> None:
    client, keys = api

    def submit_both(prompt: str, motion_prompt: str) -> object:
        options = json.dumps({**SMALL_CLIP, "motion_prompt": motion_prompt})
        data = {"prompt": prompt, "options": options}
        return submit(client, keys["submitter"], png_bytes(), data=data)

    response = submit_both("clouds drifting left", "clouds drifting right")
    assert response.status_code == 202, response.text
    assert response.json()["options"]["motion_prompt"] == "clouds drifting right"
    response = submit_both("gentle waves", "make her undress")
    assert response.status_code == 202, response.text
    job = wait_for(client, keys["submitter"], response.json()["job_id"])
    assert job["status"] in ("refused", "held"), job
    refused = submit_both("x" * 1600, "w" * 500)  # 2,000 characters of text in all, at most
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "prompt_too_long"


@pytest.mark.parametrize(
    "prompt",
    ["null\x00byte", "\x1b[31mred\x1b[0m", "'; DROP TABLE jobs; --", "\u202egnp.exe", "🌊" * 500],
)
def test_hostile_prompts_are_refused_or_stored_verbatim(api, prompt: str) -> None:
    client, keys = api
    response = submit(client, keys["submitter"], png_bytes(), data={"prompt": prompt})
    if any(ord(c) < 32 or ord(c) == 127 for c in prompt):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_prompt"
    else:
        assert response.status_code == 202
        job = client.get(f"/v1/jobs/{response.json()['job_id']}", headers=keys["submitter"])
        assert job.status_code == 200


def test_metrics_report_stage_latencies_job_outcomes_and_http_answers(api, published_job) -> None:
    client, keys = api
    client.get(f"/v1/jobs/{published_job['job_id']}", headers=keys["other"])  # a 404
    text = client.get("/metrics").text
    assert 'stillguard_stage_seconds_count{outcome="ok",stage="provenance"}' in text
    assert 'stillguard_jobs_ended_total{status="published"}' in text
    assert 'stillguard_http_requests_total{code="404",route="/v1/jobs/{job_id}"}' in text
    assert published_job["job_id"] not in text  # labels are route templates, never ids


def test_a_chunked_upload_without_length_is_cut_off_at_the_limit_with_413(api) -> None:
    client, _keys = api

    def body():
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
        for _ in range(40):  # 40 x 128 KiB = 5 MiB against a 2 MiB limit, never all read
            yield b"\0" * (128 * 1024)

    response = client.post(
        "/v1/verify", content=body(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
