"""Review claims in the store, on SQLite and PostgreSQL: one live claim, checked by decisions."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from audit import AuditQuery, AuditStore
from audit.claims import ClaimHeld, NotClaimable
from audit.records import EventDraft


def _held_job(store: AuditStore) -> str:
    job = store.create_job(submitter="s", input_blob="inputs/x.jpg", prompt=None, options={})
    store.update_job(job.id, status="held")
    return job.id


def _decide(store: AuditStore, job_id: str, reviewer: str) -> None:
    store.append(
        EventDraft(job_id=job_id, stage="output", kind="decision", action="block"),
        job_update={"status": "refused"},
        expect_status={"held"},
        expect_claim=reviewer,
    )


def test_a_live_claim_keeps_others_from_claiming_and_deciding(audit_store: AuditStore) -> None:
    job_id = _held_job(audit_store)
    claim = audit_store.claim_review(job_id, "ana", ttl_s=60)
    assert audit_store.review_claim(job_id) == claim
    assert audit_store.claim_review(job_id, "ana", ttl_s=60).expires_at >= claim.expires_at
    with pytest.raises(ClaimHeld) as held:
        audit_store.claim_review(job_id, "ben", ttl_s=60)
    assert held.value.claim.reviewer == "ana"
    with pytest.raises(ClaimHeld):
        _decide(audit_store, job_id, "ben")
    assert audit_store.get_job(job_id).status == "held"  # the refused decision wrote nothing
    assert len(audit_store.events(AuditQuery(job_id=job_id, kind="decision"))) == 0
    _decide(audit_store, job_id, "ana")
    assert audit_store.review_claim(job_id) is None  # the decision ended the claim
    with pytest.raises(NotClaimable):
        audit_store.claim_review(job_id, "ben", ttl_s=60)
    claims = audit_store.events(AuditQuery(job_id=job_id, kind="review.claimed"))
    assert [e.payload["reviewer"] for e in claims] == ["ana", "ana"]
    assert audit_store.verify_chain().intact


def test_an_expired_claim_is_taken_over(audit_store: AuditStore) -> None:
    job_id = _held_job(audit_store)
    audit_store.claim_review(job_id, "ana", ttl_s=0.05)
    time.sleep(0.1)
    assert audit_store.review_claim(job_id) is None
    assert audit_store.claim_review(job_id, "ben", ttl_s=60).reviewer == "ben"
    with pytest.raises(ClaimHeld):
        _decide(audit_store, job_id, "ana")


def test_concurrent_claims_have_one_winner(audit_store: AuditStore) -> None:
    job_id = _held_job(audit_store)

    def claim(reviewer: str) -> str | None:
        try:
            return audit_store.claim_review(job_id, reviewer, ttl_s=60).reviewer
        except ClaimHeld:
            return None

    with ThreadPoolExecutor(6) as pool:
        winners = [w for w in pool.map(claim, [f"r{i}" for i in range(6)]) if w]
    assert len(winners) == 1 and audit_store.review_claim(job_id).reviewer == winners[0]
