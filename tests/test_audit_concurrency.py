"""Concurrent writers, threads and processes, never fork the audit chain."""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

from audit import GENESIS_HASH, AuditQuery, AuditStore
from audit.records import EventDraft

WRITERS = 6
EVENTS_EACH = 15


def _append_many(url: str, writer: int) -> int:
    store = AuditStore(url)
    try:
        for n in range(EVENTS_EACH):
            store.append(
                EventDraft(
                    job_id=None, stage="api", kind="load", payload={"writer": writer, "n": n}
                )
            )
    finally:
        store.close()
    return writer


def _assert_single_unforked_chain(store: AuditStore, expected: int) -> None:
    events = []
    after = None
    while page := store.events(AuditQuery(limit=1000, after_seq=after)):
        events += page
        after = page[-1].seq
    assert len(events) == expected
    assert events[0].prev_hash == GENESIS_HASH
    for before, after_event in itertools.pairwise(events):
        assert after_event.prev_hash == before.hash
    assert len({e.prev_hash for e in events}) == expected, "two events share a parent: a fork"
    report = store.verify_chain()
    assert report.intact and report.checked == expected


def test_appends_from_many_threads_form_one_chain(audit_store: AuditStore) -> None:
    def append_many(writer: int) -> None:
        for n in range(EVENTS_EACH):
            audit_store.append(
                EventDraft(job_id=None, stage="api", kind="load", payload={"w": writer, "n": n})
            )

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(append_many, range(WRITERS)))
    _assert_single_unforked_chain(audit_store, WRITERS * EVENTS_EACH)


def test_appends_from_many_processes_form_one_chain(audit_store: AuditStore) -> None:
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        finished = pool.starmap(_append_many, [(audit_store.url, w) for w in range(WRITERS)])
    assert sorted(finished) == list(range(WRITERS))
    _assert_single_unforked_chain(audit_store, WRITERS * EVENTS_EACH)


def test_concurrent_redeliveries_of_one_event_record_it_once(audit_store: AuditStore) -> None:
    def deliver(_: int) -> str:
        return audit_store.append(
            EventDraft(job_id=None, stage="api", kind="x", event_id="same")
        ).hash

    with ThreadPoolExecutor(WRITERS) as pool:
        hashes = set(pool.map(deliver, range(WRITERS * 2)))
    assert len(hashes) == 1
    assert audit_store.verify_chain().checked == 1


def test_concurrent_submissions_with_one_idempotency_key_make_one_job(
    audit_store: AuditStore,
) -> None:
    def submit(_: int) -> str:
        return audit_store.create_job(
            submitter="k",
            input_blob="b",
            prompt=None,
            options={},
            idempotency_key="retry-storm",
            request_sha256="f" * 64,
        ).id

    with ThreadPoolExecutor(WRITERS) as pool:
        ids = set(pool.map(submit, range(WRITERS * 2)))
    assert len(ids) == 1
