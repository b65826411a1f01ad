"""Specification of the audit store on SQLite and PostgreSQL: jobs, the event chain, keys."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from audit import (
    GENESIS_HASH,
    AuditError,
    AuditQuery,
    AuditStore,
    IdempotencyConflict,
    canonical_json,
)
from audit.records import MAX_QUERY_LIMIT, EventDraft


def _job(store: AuditStore, **overrides: object):
    fields: dict = {
        "submitter": "cli",
        "input_blob": "blobs/in/photo.jpg",
        "prompt": "waves at dusk",
        "options": {"duration": 5, "motion": "medium"},
    }
    fields.update(overrides)
    return store.create_job(**fields)


def test_new_job_is_submitted_and_reads_back_with_utc_timestamps(audit_store: AuditStore) -> None:
    job = _job(audit_store, request_sha256="ab" * 32)
    assert job.status == "submitted"
    assert len(job.id) == 32 and int(job.id, 16) >= 0
    stored = audit_store.get_job(job.id)
    assert stored is not None and stored == job
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)
    as_json = json.loads(json.dumps(stored.to_dict()))
    assert as_json["options"] == {"duration": 5, "motion": "medium"}
    assert as_json["created_at"].endswith("+00:00")
    assert audit_store.get_job("0" * 32) is None


def test_update_job_changes_only_the_allowed_fields(audit_store: AuditStore) -> None:
    job = _job(audit_store)
    decisions = [{"stage": "input", "action": "allow", "reasons": [], "policy_version": "v1"}]
    updated = audit_store.update_job(
        job.id, status="published", output_blob="blobs/out/clip.mp4", decisions=decisions
    )
    assert updated.status == "published"
    assert updated.output_blob == "blobs/out/clip.mp4"
    assert list(updated.decisions) == decisions
    assert updated.updated_at >= job.updated_at
    assert audit_store.get_job(job.id) == updated
    with pytest.raises(AuditError, match="prompt"):
        audit_store.update_job(job.id, prompt="changed after the fact")
    with pytest.raises(AuditError, match="status"):
        audit_store.update_job(job.id, status="exploded")
    with pytest.raises(AuditError, match="no job"):
        audit_store.update_job("f" * 32, status="failed")


def test_same_idempotency_key_and_request_returns_the_same_job(audit_store: AuditStore) -> None:
    first = _job(audit_store, submitter="key1", idempotency_key="abc", request_sha256="1" * 64)
    again = _job(audit_store, submitter="key1", idempotency_key="abc", request_sha256="1" * 64)
    assert again.id == first.id
    assert audit_store.find_job_by_idempotency("key1", "abc") == first
    assert audit_store.find_job_by_idempotency("key1", "other") is None
    assert audit_store.find_job_by_idempotency("key2", "abc") is None
    other_submitter = _job(audit_store, submitter="key2", idempotency_key="abc")
    assert other_submitter.id != first.id
    with pytest.raises(IdempotencyConflict, match="different request"):
        _job(audit_store, submitter="key1", idempotency_key="abc", request_sha256="2" * 64)


def test_jobs_without_idempotency_key_never_collide(audit_store: AuditStore) -> None:
    ids = {_job(audit_store).id for _ in range(3)}
    assert len(ids) == 3
    assert {j.id for j in audit_store.list_jobs(status="submitted")} == ids
    assert audit_store.list_jobs(status="held") == []


def test_each_event_links_to_the_previous_events_hash(audit_store: AuditStore) -> None:
    job = _job(audit_store)
    events = [
        audit_store.append(EventDraft(job_id=job.id, stage="intake", kind="job.created")),
        audit_store.append(
            EventDraft(
                job_id=job.id,
                stage="input",
                kind="decision",
                action="allow",
                policy_version="default-1",
                decision_id="d1",
                reasons=["no signal above threshold"],
                signals=[{"category": "nudity", "score": 0.1, "model": "open-nsfw"}],
            )
        ),
        audit_store.append(
            EventDraft(job_id=None, stage="api", kind="key.created", payload={"role": "x"})
        ),
    ]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.seq > before.seq
    first = events[0]
    fields = first.to_dict()
    for excluded in ("seq", "prev_hash", "hash"):
        fields.pop(excluded)
    recomputed = hashlib.sha256((GENESIS_HASH + canonical_json(fields)).encode()).hexdigest()
    assert recomputed == first.hash, "the documented hash recipe reproduces the stored hash"
    report = audit_store.verify_chain()
    assert (report.intact, report.checked, report.head_hash) == (True, 3, events[-1].hash)


def test_awkward_json_values_keep_the_chain_verifiable(audit_store: AuditStore) -> None:
    signals = [
        {"category": "violence", "score": 0.1 + 0.2, "model": "m", "start_s": 1e-7},
        {"category": "self-harm", "score": 123456789.123456, "model": "ünïcødé ✓", "end_s": 5},
        {"category": "big", "score": 1.0, "model": "m", "detail": 'quote " and \\ slash'},
    ]
    audit_store.append(EventDraft(job_id=None, stage="output", kind="decision", signals=signals))
    stored = audit_store.events(AuditQuery())[0]
    assert list(stored.signals) == signals
    assert audit_store.verify_chain().intact
    with pytest.raises(AuditError, match="finite"):
        audit_store.append(
            EventDraft(job_id=None, stage="output", kind="x", payload={"score": math.nan})
        )
    with pytest.raises(AuditError, match="NUL"):
        audit_store.append(EventDraft(job_id=None, stage="output", kind="x", reasons=["a\x00b"]))
    with pytest.raises(AuditError, match="NUL"):
        _job(audit_store, prompt="a\x00b")
    with pytest.raises(AuditError, match="JSON"):
        audit_store.append(
            EventDraft(job_id=None, stage="output", kind="x", payload={"when": object()})
        )


def test_reappending_a_delivered_event_id_is_harmless(audit_store: AuditStore) -> None:
    first = audit_store.append(
        EventDraft(job_id=None, stage="intake", kind="job.created", event_id="e-1")
    )
    again = audit_store.append(
        EventDraft(job_id=None, stage="intake", kind="job.created", event_id="e-1")
    )
    assert again == first
    assert audit_store.verify_chain().checked == 1


def test_decision_for_returns_the_latest_decision_of_the_stage(audit_store: AuditStore) -> None:
    job = _job(audit_store)
    audit_store.append(EventDraft(job_id=job.id, stage="input", kind="decision", action="review"))
    latest = audit_store.append(
        EventDraft(job_id=job.id, stage="input", kind="decision", action="allow")
    )
    audit_store.append(EventDraft(job_id=job.id, stage="input", kind="input.note"))
    audit_store.append(EventDraft(job_id=job.id, stage="output", kind="decision", action="block"))
    assert audit_store.decision_for(job.id, "input") == latest
    assert audit_store.decision_for(job.id, "provenance") is None


def test_queries_filter_by_every_field(audit_store: AuditStore) -> None:
    a, b = _job(audit_store).id, _job(audit_store).id
    audit_store.append(
        EventDraft(job_id=a, stage="input", kind="decision", action="allow", policy_version="1")
    )
    audit_store.append(
        EventDraft(job_id=a, stage="output", kind="decision", action="block", policy_version="2")
    )
    audit_store.append(
        EventDraft(job_id=b, stage="input", kind="decision", action="block", policy_version="2")
    )
    audit_store.append(EventDraft(job_id=b, stage="generation", kind="job.failed"))

    def seqs(**filters: Any) -> list[int]:
        return [e.seq for e in audit_store.events(AuditQuery(**filters))]

    everything = seqs()
    assert len(everything) == 4 and everything == sorted(everything)
    assert len(seqs(job_id=a)) == 2
    assert len(seqs(stage="input")) == 2
    assert len(seqs(action="block")) == 2
    assert len(seqs(kind="job.failed")) == 1
    assert len(seqs(policy_version="2", action="block", stage="input")) == 1
    assert seqs(job_id="nobody") == []


def test_time_window_is_inclusive_since_and_exclusive_until(audit_store: AuditStore) -> None:
    events = [
        audit_store.append(EventDraft(job_id=None, stage="api", kind=f"k{i}")) for i in range(3)
    ]
    middle = events[1].created_at
    since = [e.kind for e in audit_store.events(AuditQuery(since=middle))]
    until = [e.kind for e in audit_store.events(AuditQuery(until=middle))]
    assert since == ["k1", "k2"] and until == ["k0"]
    # An aware time in another zone means the same instant.
    elsewhere = middle.astimezone(UTC).astimezone(datetime.now().astimezone().tzinfo)
    assert [e.kind for e in audit_store.events(AuditQuery(since=elsewhere))] == ["k1", "k2"]
    naive_utc = middle.replace(tzinfo=None)
    assert [e.kind for e in audit_store.events(AuditQuery(since=naive_utc))] == ["k1", "k2"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert audit_store.events(AuditQuery(since=later)) == []


def test_keyset_pagination_walks_every_event_once(audit_store: AuditStore) -> None:
    appended = [
        audit_store.append(EventDraft(job_id=None, stage="api", kind="k")).seq for _ in range(7)
    ]
    seen: list[int] = []
    after = None
    while page := audit_store.events(AuditQuery(limit=3, after_seq=after)):
        assert len(page) <= 3
        seen += [e.seq for e in page]
        after = page[-1].seq
    assert seen == appended
    with pytest.raises(AuditError, match="limit"):
        audit_store.events(AuditQuery(limit=0))
    with pytest.raises(AuditError, match="after_seq"):
        audit_store.events(AuditQuery(limit=MAX_QUERY_LIMIT + 1))


def _raw_engine(url: str):
    return create_engine(url)


def _bypass_append_only_guard(connection, dialect: str) -> None:
    if dialect == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))
    else:
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET kind = 'forged'", "DELETE FROM audit_events"]
)
def test_database_rejects_changes_to_recorded_events(
    audit_store: AuditStore, audit_url: str, statement: str
) -> None:
    audit_store.append(EventDraft(job_id=None, stage="intake", kind="job.created"))
    engine = _raw_engine(audit_url)
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
    assert audit_store.verify_chain().intact
    assert [e.kind for e in audit_store.events(AuditQuery())] == ["job.created"]


def test_verify_chain_names_the_first_tampered_event(
    audit_store: AuditStore, audit_url: str
) -> None:
    events = [
        audit_store.append(EventDraft(job_id=None, stage="input", kind="decision", action="block"))
        for _ in range(5)
    ]
    target = events[2].seq
    engine = _raw_engine(audit_url)
    try:
        with engine.begin() as connection:
            _bypass_append_only_guard(connection, engine.dialect.name)
            connection.execute(
                text("UPDATE audit_events SET action = 'allow' WHERE seq = :seq"), {"seq": target}
            )
    finally:
        engine.dispose()
    report = audit_store.verify_chain()
    assert not report.intact
    assert report.first_broken_seq == target
    assert report.checked == 3
    assert report.reason is not None and "content" in report.reason and str(target) in report.reason


def test_verify_chain_notices_a_deleted_event(audit_store: AuditStore, audit_url: str) -> None:
    events = [audit_store.append(EventDraft(job_id=None, stage="api", kind="k")) for _ in range(4)]
    engine = _raw_engine(audit_url)
    try:
        with engine.begin() as connection:
            _bypass_append_only_guard(connection, engine.dialect.name)
            connection.execute(
                text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": events[1].seq}
            )
    finally:
        engine.dispose()
    report = audit_store.verify_chain()
    assert not report.intact
    assert report.first_broken_seq == events[2].seq
    assert report.reason is not None and "prev_hash" in report.reason


def test_empty_log_verifies_as_intact(audit_store: AuditStore) -> None:
    report = audit_store.verify_chain()
    assert report.to_dict() == {
        "intact": True,
        "checked": 0,
        "first_broken_seq": None,
        "reason": None,
        "head_hash": None,
    }


def test_api_key_secret_is_stored_only_as_its_sha256(
    audit_store: AuditStore, audit_url: str
) -> None:
    key_id, secret = audit_store.create_api_key("reviewer")
    assert secret.startswith(f"sg_{key_id}_") and len(secret) > 40
    engine = _raw_engine(audit_url)
    try:
        with engine.connect() as connection:
            rows = [tuple(r) for r in connection.execute(text("SELECT * FROM api_keys"))]
    finally:
        engine.dispose()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert secret not in stored and secret.split("_", 2)[2] not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    record = audit_store.authenticate(secret)
    assert record is not None and (record.id, record.role, record.active) == (
        key_id,
        "reviewer",
        True,
    )
    assert "secret" not in json.dumps(record.to_dict())


def test_wrong_unknown_and_revoked_secrets_do_not_authenticate(audit_store: AuditStore) -> None:
    key_id, secret = audit_store.create_api_key("submitter")
    other_id, other_secret = audit_store.create_api_key("admin")
    assert audit_store.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert audit_store.authenticate(f"sg_{key_id}_{other_secret.split('_', 2)[2]}") is None
    assert audit_store.authenticate("sg_0000000000000000_nothing") is None
    assert audit_store.authenticate("Bearer nonsense") is None
    assert audit_store.authenticate("") is None
    revoked = audit_store.revoke_api_key(key_id)
    assert revoked.revoked_at is not None and not revoked.active
    assert audit_store.authenticate(secret) is None
    still_valid = audit_store.authenticate(other_secret)
    assert still_valid is not None and still_valid.id == other_id
    assert [k.id for k in audit_store.list_api_keys()].count(key_id) == 1
    with pytest.raises(AuditError, match="role"):
        audit_store.create_api_key("root")
    with pytest.raises(AuditError, match="no API key"):
        audit_store.revoke_api_key("missing")
