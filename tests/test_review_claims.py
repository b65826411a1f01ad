"""Two reviewers never both decide one job: claims expire, deciding is a compare-and-set."""

from __future__ import annotations

import json

import pytest

from audit import AuditQuery
from stillguard.cli import main
from stillguard.container import open_store
from tests.support.review import ReviewService, review_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    yield from review_service(tmp_path_factory.mktemp("review-claims"))


def _events(service: ReviewService, job_id: str, kind: str) -> list:
    with open_store(service.settings) as store:
        return store.events(AuditQuery(job_id=job_id, kind=kind))


def _decide(service: ReviewService, job_id: str, headers: dict, action: str = "approve"):
    return service.client.post(
        f"/v1/reviews/{job_id}/decision",
        json={"action": action, "reason": "looked at every second"},
        headers=headers,
    )


def test_a_claimed_job_is_decided_only_by_its_claimant_and_the_loser_is_told_who(
    service,
) -> None:
    job_id = service.held()
    first = service.headers["reviewer"]
    second, _ = service.key("reviewer")
    taken = service.client.post(f"/v1/reviews/{job_id}/claim", headers=first)
    assert taken.status_code == 200, taken.text
    claimant = taken.json()["reviewer"]
    queue = service.client.get("/v1/reviews", headers=second).json()["reviews"]
    assert next(r for r in queue if r["job_id"] == job_id)["claimed_by"] == claimant
    refused_claim = service.client.post(f"/v1/reviews/{job_id}/claim", headers=second)
    assert refused_claim.status_code == 409 and claimant in refused_claim.json()["error"]["message"]
    refused = _decide(service, job_id, second, "block")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "claimed" and claimant in refused.text
    assert service.wait(job_id, {"held"})["status"] == "held"  # nothing changed
    assert _decide(service, job_id, first).status_code == 200
    late = _decide(service, job_id, second, "block")
    assert late.status_code == 409 and f"decided by reviewer {claimant}" in late.text
    claims = _events(service, job_id, "review.claimed")
    assert [e.payload["reviewer"] for e in claims] == [claimant]
    losers = _events(service, job_id, "review.refused")
    assert [e.payload["code"] for e in losers] == ["claimed", "not_held"]
    assert service.wait(job_id, {"published", "failed"})["status"] == "published"


def test_an_expired_claim_lets_another_reviewer_take_over(service) -> None:
    job_id = service.held()
    with open_store(service.settings) as store:
        store.claim_review(job_id, "someone-away", ttl_s=0.001)
        assert store.review_claim(job_id) is None
    took = service.client.post(f"/v1/reviews/{job_id}/claim", headers=service.headers["reviewer"])
    assert took.status_code == 200
    assert _decide(service, job_id, service.headers["reviewer"], "block").json()["status"] == (
        "refused"
    )
    gone = service.client.post(f"/v1/reviews/{job_id}/claim", headers=service.headers["reviewer"])
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "not_held"


def test_the_queue_is_oldest_first_with_ages(service) -> None:
    older, newer = service.held(), service.held()
    queue = service.client.get("/v1/reviews", headers=service.headers["reviewer"]).json()
    ids = [r["job_id"] for r in queue["reviews"]]
    assert ids.index(older) < ids.index(newer)
    ages = {r["job_id"]: r["age_s"] for r in queue["reviews"]}
    assert ages[older] >= ages[newer] >= 0


def test_cli_review_claim_names_the_holder(service, monkeypatch, capsys) -> None:
    job_id = service.held()
    monkeypatch.setenv("STILLGUARD_HOME", str(service.settings.home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    assert main(["review", "claim", job_id, "--reviewer", "ana", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reviewer"] == "ana"
    assert main(["review", "claim", job_id, "--reviewer", "ben"]) != 0
    assert "claimed by reviewer ana" in capsys.readouterr().err


def test_reviewers_deciding_at_once_yield_exactly_one_decision(service) -> None:
    from concurrent.futures import ThreadPoolExecutor

    job_id = service.held()
    reviewers = [service.key("reviewer")[0] for _ in range(6)]
    with ThreadPoolExecutor(len(reviewers)) as pool:
        answers = list(
            pool.map(lambda headers: _decide(service, job_id, headers, "block"), reviewers)
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * (len(reviewers) - 1), [a.text for a in answers]
    decided = [e for e in _events(service, job_id, "decision") if e.payload.get("reviewer")]
    assert len(decided) == 1
    assert len(_events(service, job_id, "review.refused")) == len(reviewers) - 1
