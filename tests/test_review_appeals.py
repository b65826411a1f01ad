"""Refused submitters get a statement of reasons and one appeal, decided by a second reviewer."""

from __future__ import annotations

import json

import pytest

from audit import AuditQuery
from stillguard.cli import main
from stillguard.container import open_store
from tests.support.review import ReviewService, review_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    yield from review_service(tmp_path_factory.mktemp("review-appeals"))


def _decide(service: ReviewService, job_id: str, headers: dict, action: str, reason: str):
    return service.client.post(
        f"/v1/reviews/{job_id}/decision", json={"action": action, "reason": reason}, headers=headers
    )


def test_an_automated_refusal_has_a_statement_of_reasons(service) -> None:
    job_id = service.submit(prompt="make her undress")
    service.wait(job_id, {"refused"})
    answer = service.client.get(f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"])
    assert answer.status_code == 200, answer.text
    statement = answer.json()
    assert statement["decision"]["action"] == "block"
    assert statement["decision"]["stage"] == "input"
    assert statement["automated_detection"] and statement["automated_decision"]
    assert statement["ground"]["policy_version"] == "test-review-1"
    assert statement["ground"]["rules"] == ["input.prompt.sexual.block"]
    assert any("prompt.sexual" in fact for fact in statement["facts_and_circumstances"])
    assert statement["redress"]["can_appeal"] and statement["appeal"] is None
    stranger, _ = service.key("submitter")
    assert service.client.get(f"/v1/jobs/{job_id}/reasons", headers=stranger).status_code == 404


def test_an_appeal_is_decided_by_a_second_reviewer_and_only_once(service) -> None:
    job_id = service.held()
    first = service.headers["reviewer"]
    assert _decide(service, job_id, first, "block", "looks like a real event").status_code == 200
    statement = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    ).json()
    assert statement["automated_decision"] is False and statement["decision"]["stage"] == "output"
    # Only the submitter appeals, with a text, once.
    by_reviewer = service.client.post(
        f"/v1/jobs/{job_id}/appeal", json={"text": "it is my own garden"}, headers=first
    )
    assert by_reviewer.status_code == 403 and by_reviewer.json()["error"]["code"] == "not_submitter"
    empty = service.client.post(
        f"/v1/jobs/{job_id}/appeal", json={"text": ""}, headers=service.headers["submitter"]
    )
    assert empty.status_code == 400
    appealed = service.client.post(
        f"/v1/jobs/{job_id}/appeal",
        json={"text": "it is my own garden <script>alert(1)</script>"},
        headers=service.headers["submitter"],
    )
    assert appealed.status_code == 202, appealed.text
    assert appealed.json()["appeal"]["status"] == "pending"
    again = service.client.post(
        f"/v1/jobs/{job_id}/appeal", json={"text": "please"}, headers=service.headers["submitter"]
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_appealed"
    queue = service.client.get("/v1/reviews", headers=first).json()["reviews"]
    assert next(r for r in queue if r["job_id"] == job_id)["appeal"] is True
    # The first decider cannot settle the appeal of their own decision.
    own = _decide(service, job_id, first, "block", "still a real event")
    assert own.status_code == 409 and own.json()["error"]["code"] == "second_reviewer_required"
    second, _ = service.key("reviewer")
    upheld = _decide(service, job_id, second, "block", "agree with the first review")
    assert upheld.status_code == 200 and upheld.json()["status"] == "refused"
    final = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    ).json()
    assert final["appeal"]["status"] == "upheld" and final["redress"]["can_appeal"] is False
    assert final["appeal"]["decided_by"] != final["appeal"]["first_decider"]
    with open_store(service.settings) as store:
        kinds = [e.kind for e in store.events(AuditQuery(job_id=job_id))]
    assert "appeal" in kinds and "review.refused" in kinds
    with open_store(service.settings) as store:
        refusals = store.events(AuditQuery(job_id=job_id, kind="appeal.refused"))
    assert [e.payload["code"] for e in refusals] == ["not_submitter", "already_appealed"]
    # Once the appeal is settled nothing can overturn the refusal: its clip is gone.
    assert not _clip_kept(service, job_id)


def _clip_kept(service: ReviewService, job_id: str) -> bool:
    return (
        service.client.get(
            f"/v1/jobs/{job_id}/clip", headers=service.headers["reviewer"]
        ).status_code
        == 200
    )


def test_an_overturned_output_refusal_is_signed_and_published(service) -> None:
    job_id = service.held()
    first = service.headers["reviewer"]
    assert _decide(service, job_id, first, "block", "looks like a real event").status_code == 200
    # Refused at the output gate: the unsigned clip stays (reviewers only) while an appeal could
    # still overturn the refusal.
    assert _clip_kept(service, job_id)
    unsigned = service.client.get(f"/v1/jobs/{job_id}/video", headers=service.headers["submitter"])
    assert unsigned.status_code == 409, "the submitter never gets the unsigned clip"
    appealed = service.client.post(
        f"/v1/jobs/{job_id}/appeal",
        json={"text": "my garden"},
        headers=service.headers["submitter"],
    )
    assert appealed.status_code == 202, appealed.text
    second, _ = service.key("reviewer")
    overturned = _decide(service, job_id, second, "approve", "it is their garden")
    assert overturned.status_code == 200, overturned.text
    published = service.wait(job_id, {"published", "failed"})
    assert published["status"] == "published", published
    video = service.client.get(
        f"/v1/jobs/{job_id}/video", headers=service.headers["submitter"], follow_redirects=True
    )
    assert video.status_code == 200
    report = service.client.post(
        "/v1/verify", files={"file": ("clip.mp4", video.content, "video/mp4")}
    ).json()
    assert report["status"] == "valid" and report["job_id"] == job_id
    statement = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    )
    assert statement.status_code == 409  # published: nothing is restricted any more
    with open_store(service.settings) as store:
        assert store.get_job(job_id).decisions[-1]["reviewer"]


@pytest.fixture
def closed_window_service(tmp_path):
    yield from review_service(tmp_path, STILLGUARD_APPEAL_WINDOW_DAYS="0")


def test_after_the_appeal_window_an_output_refusal_keeps_nothing(closed_window_service) -> None:
    service = closed_window_service
    job_id = service.held()
    assert _decide(service, job_id, service.headers["reviewer"], "block", "real event").is_success
    assert not _clip_kept(service, job_id), "no appeal can come: the clip is discarded at once"
    late = service.client.post(
        f"/v1/jobs/{job_id}/appeal", json={"text": "late"}, headers=service.headers["submitter"]
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "appeal_window_closed"
    statement = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    ).json()
    assert statement["redress"]["can_appeal"] is False


def test_an_overturned_input_refusal_resumes_and_is_published(service, monkeypatch, capsys) -> None:
    job_id = service.submit(prompt="make her undress")
    service.wait(job_id, {"refused"})
    assert (
        service.client.post(
            f"/v1/jobs/{job_id}/appeal",
            json={"text": "the classifier misread my prompt"},
            headers=service.headers["submitter"],
        ).status_code
        == 202
    )
    monkeypatch.setenv("STILLGUARD_HOME", str(service.settings.home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    assert main(["review", "appeals", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reviews"]
    assert [r["job_id"] for r in listed] == [job_id]
    # Overturning an automated block takes two reviewers (the two-person rule).
    first = _decide(service, job_id, service.headers["reviewer"], "approve", "misread")
    assert first.status_code == 200 and first.json()["status"] == "held"
    twice = _decide(service, job_id, service.headers["reviewer"], "approve", "really")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "second_reviewer_required"
    second, _ = service.key("reviewer")
    overturned = _decide(service, job_id, second, "approve", "agree, misread")
    assert overturned.status_code == 200 and overturned.json()["status"] == "running"
    assert service.wait(job_id, {"held", "published", "failed"})["status"] in ("held", "published")
    statement = service.client.get(
        f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"]
    ).json()
    assert statement["appeal"]["status"] == "overturned"


def test_a_published_job_has_nothing_to_state_or_appeal(service) -> None:
    job_id = service.held()
    _decide(service, job_id, service.headers["reviewer"], "approve", "fine")
    service.wait(job_id, {"published"})
    answer = service.client.post(
        f"/v1/jobs/{job_id}/appeal", json={"text": "x"}, headers=service.headers["submitter"]
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_appealable"
    reasons = service.client.get(f"/v1/jobs/{job_id}/reasons", headers=service.headers["submitter"])
    assert reasons.status_code == 409 and reasons.json()["error"]["code"] == "no_restriction"


@pytest.fixture
def one_reviewer_service(tmp_path):
    yield from review_service(tmp_path, STILLGUARD_REVIEW_TWO_PERSON_RULE="false")


def test_without_the_two_person_rule_one_reviewer_overturns(one_reviewer_service) -> None:
    service = one_reviewer_service
    job_id = service.submit(prompt="make her undress")
    service.wait(job_id, {"refused"})
    appeal = {"text": "misread"}
    assert service.client.post(
        f"/v1/jobs/{job_id}/appeal", json=appeal, headers=service.headers["submitter"]
    ).is_success
    overturned = _decide(service, job_id, service.headers["reviewer"], "approve", "misread")
    assert overturned.status_code == 200 and overturned.json()["status"] == "running"
