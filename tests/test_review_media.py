"""Reviewers see the held media: the photo and the held clip (seekable by Range), the timeline."""

from __future__ import annotations

import pytest

from tests.support.review import REVIEW_EVERY_OUTPUT, ReviewService, review_service
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    yield from review_service(tmp_path_factory.mktemp("review-media"))


@pytest.fixture(scope="module")
def held_job(service: ReviewService) -> str:
    return service.held()


def test_reviewers_get_the_photo_and_submitters_do_not(service, held_job) -> None:
    photo = service.client.get(f"/v1/jobs/{held_job}/input", headers=service.headers["reviewer"])
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.content == SAMPLE_PHOTO.read_bytes()
    assert photo.headers["accept-ranges"] == "bytes"
    own = service.client.get(f"/v1/jobs/{held_job}/input", headers=service.headers["submitter"])
    assert own.status_code == 403


def test_the_held_clip_is_served_in_ranges_and_never_as_the_publication(service, held_job) -> None:
    reviewer = service.headers["reviewer"]
    whole = service.client.get(f"/v1/jobs/{held_job}/clip", headers=reviewer)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[4:8] == b"ftyp"
    size = len(whole.content)
    part = service.client.get(
        f"/v1/jobs/{held_job}/clip", headers={**reviewer, "Range": "bytes=100-199"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    tail = service.client.get(
        f"/v1/jobs/{held_job}/clip", headers={**reviewer, "Range": "bytes=-10"}
    )
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    beyond = service.client.get(
        f"/v1/jobs/{held_job}/clip", headers={**reviewer, "Range": f"bytes={size + 5}-"}
    )
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    malformed = service.client.get(
        f"/v1/jobs/{held_job}/clip", headers={**reviewer, "Range": "bytes=banana"}
    )
    assert malformed.status_code == 400
    # The submitter still cannot fetch the clip: it is held, not published.
    published = service.client.get(
        f"/v1/jobs/{held_job}/video", headers=service.headers["submitter"]
    )
    assert published.status_code == 409
    assert service.wait(held_job, {"held"})["status"] == "held"


def test_the_timeline_gives_scores_over_time_and_the_thresholds(service, held_job) -> None:
    answer = service.client.get(
        f"/v1/jobs/{held_job}/timeline", headers=service.headers["reviewer"]
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["action"] == "review" and body["policy_version"] == "test-review-1"
    assert {t["rule"] for t in body["thresholds"]} == {
        "output.nsfw.block",
        "output.violence.review",
    }
    assert body["frame_signals"] and isinstance(body["timeline"], list)
    assert {s["category"] for s in body["frame_signals"]} >= {"nsfw"}
    times = [s["start_s"] for s in body["frame_signals"]]
    assert min(times) >= 0 and max(times) <= body["duration_s"]
    assert all(0.0 <= s["score"] <= 1.0 for s in body["frame_signals"])
    assert (
        service.client.get(
            f"/v1/jobs/{held_job}/timeline", headers=service.headers["submitter"]
        ).status_code
        == 403
    )


def test_a_job_without_a_clip_has_no_clip_and_no_timeline(service) -> None:
    refused = service.submit(prompt="make her undress")
    service.wait(refused, {"refused"})
    reviewer = service.headers["reviewer"]
    clip = service.client.get(f"/v1/jobs/{refused}/clip", headers=reviewer)
    assert clip.status_code == 409 and clip.json()["error"]["code"] == "no_clip"
    plot = service.client.get(f"/v1/jobs/{refused}/timeline", headers=reviewer)
    assert plot.status_code == 409 and plot.json()["error"]["code"] == "no_timeline"
    assert service.client.get(f"/v1/jobs/{'0' * 32}/clip", headers=reviewer).status_code == 404


def test_a_published_job_keeps_no_held_clip(service) -> None:
    job_id = service.held()
    reviewer = service.headers["reviewer"]
    approve = {"action": "approve", "reason": "fine"}
    decided = service.client.post(f"/v1/reviews/{job_id}/decision", json=approve, headers=reviewer)
    assert decided.status_code == 200
    service.wait(job_id, {"published"})
    clip = service.client.get(f"/v1/jobs/{job_id}/clip", headers=reviewer)
    assert clip.status_code == 409 and clip.json()["error"]["code"] == "no_clip"
    timeline = service.client.get(f"/v1/jobs/{job_id}/timeline", headers=reviewer)
    assert timeline.status_code == 200 and timeline.json()["status"] == "published"


def test_the_thresholds_are_those_of_the_pack_that_decided(service) -> None:
    admin, reviewer = service.headers["admin"], service.headers["reviewer"]
    original = REVIEW_EVERY_OUTPUT
    stricter = original.replace("test-review-1", "test-review-media-2").replace("0.6", "0.3")
    assert service.client.put("/v1/policies", content=stricter.encode(), headers=admin).is_success
    try:
        job_id = service.held()
        later = original.replace("test-review-1", "test-review-media-3")
        assert service.client.put("/v1/policies", content=later.encode(), headers=admin).is_success
        body = service.client.get(f"/v1/jobs/{job_id}/timeline", headers=reviewer).json()
        assert body["policy_version"] == body["thresholds_policy_version"] == "test-review-media-2"
        violence = next(t for t in body["thresholds"] if t["category"] == "violence")
        assert violence["threshold"] == 0.3
    finally:
        service.client.put("/v1/policies", content=original.encode(), headers=admin)
