"""Specification of how reviewer queries and the backtest stream read the audit log, on SQLite
and PostgreSQL: exact answers whichever plan is picked, every event exactly once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from audit import AuditQuery, AuditStore
from audit.database import create_audit_engine, run_migration
from audit.event_queries import decision_pages
from audit.models import AuditEvent
from audit.records import EventDraft

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _recorded(store: AuditStore, count: int, *, shuffle_minutes: int) -> list[dict]:
    """`count` decision rows whose created_at mostly grows with seq, but not always (clocks of
    several workers): each is moved by up to `shuffle_minutes` either way."""
    rng = random.Random(3)
    rows = [
        {
            "event_id": f"e{i}",
            "job_id": f"{i // 3:032x}",
            "stage": ("input", "output")[i % 2],
            "kind": "decision" if i % 5 else "clip.generated",
            "action": rng.choice(("label", "review", "block")),
            "policy_version": ("v1", "v2")[i * 2 // count],
            "decision_id": f"d{i}",
            "reasons": [],
            "signals": [{"category": "nsfw", "score": i / count}],
            "payload": {"reviewer": "key7"} if i % 11 == 0 else {},
            "created_at": T0
            + timedelta(minutes=i * 10 + rng.randint(-shuffle_minutes, shuffle_minutes)),
            "prev_hash": "0" * 64,
            "hash": f"{i:064x}",
        }
        for i in range(count)
    ]
    with store.engine.begin() as connection:
        connection.execute(AuditEvent.__table__.insert(), rows)
        connection.exec_driver_sql("ANALYZE")
    return [{**row, "seq": seq} for seq, row in enumerate(rows, start=1)]


def _pages(store: AuditStore, query: AuditQuery) -> list[int]:
    seen, after = [], None
    while page := store.events(AuditQuery(**{**query.__dict__, "after_seq": after})):
        seen += [e.seq for e in page]
        after = page[-1].seq
    return seen


def test_time_windows_page_exactly_even_when_clocks_disagree(audit_store: AuditStore) -> None:
    rows = _recorded(audit_store, 240, shuffle_minutes=90)
    for since_h, until_h, action, version in [
        (0, 2, None, None),  # a small early window: walks seq from the start
        (38, 39, None, None),  # a small late window: found by time, then sorted
        (5, 30, None, None),
        (35, None, "block", None),
        (None, 8, None, None),
        (10, 20, None, "v2"),
        (50, None, None, None),  # after the last event
    ]:
        since = T0 + timedelta(hours=since_h) if since_h is not None else None
        until = T0 + timedelta(hours=until_h) if until_h is not None else None
        expected = [
            r["seq"]
            for r in rows
            if (since is None or r["created_at"] >= since)
            and (until is None or r["created_at"] < until)
            and action in (None, r["action"])
            and version in (None, r["policy_version"])
        ]
        query = AuditQuery(since=since, until=until, action=action, policy_version=version, limit=7)
        assert _pages(audit_store, query) == expected, (since_h, until_h, action, version)


def test_policy_version_pages_walk_every_event_once(audit_store: AuditStore) -> None:
    rows = _recorded(audit_store, 60, shuffle_minutes=0)
    expected = [r["seq"] for r in rows if r["policy_version"] == "v2"]
    assert _pages(audit_store, AuditQuery(policy_version="v2", limit=4)) == expected
    walked = audit_store.iter_events(AuditQuery(policy_version="v2", limit=4))
    assert [e.seq for e in walked] == expected


def test_decision_stream_yields_every_decision_once_as_recorded(audit_store: AuditStore) -> None:
    rows = _recorded(audit_store, 50, shuffle_minutes=0)
    audit_store.append(EventDraft(job_id=None, stage="api", kind="tick"))
    full = {e.seq: e for e in audit_store.events(AuditQuery(kind="decision", limit=1000))}
    since = T0 + timedelta(hours=3)

    def streamed(page: int, since: datetime | None, until: datetime | None = None) -> list:
        pages = decision_pages(audit_store.engine.connect, since, until, page=page)
        return [decision for batch in pages for decision in batch]

    for decisions in (list(audit_store.decisions()), streamed(4, None), streamed(1, None)):
        assert [d.seq for d in decisions] == sorted(full)
        for d in decisions:
            event = full[d.seq]
            assert (d.job_id, d.stage, d.kind, d.action, d.policy_version) == (
                event.job_id,
                event.stage,
                event.kind,
                event.action,
                event.policy_version,
            )
            assert list(d.signals) == list(event.signals)
            assert d.reviewer == event.payload.get("reviewer")
    later = [r["seq"] for r in rows if r["kind"] == "decision" and r["created_at"] >= since]
    assert [d.seq for d in streamed(4, since)] == later
    assert [d.seq for d in audit_store.decisions(since)] == later
    until = T0 + timedelta(hours=6)
    window = [
        r["seq"] for r in rows if r["kind"] == "decision" and since <= r["created_at"] < until
    ]
    assert [d.seq for d in streamed(4, since, until)] == window
    assert [d.seq for d in audit_store.decisions(since, until)] == window


def test_migration_0009_indexes_time_windows_from_either_end(audit_url: str) -> None:
    store = AuditStore(audit_url)
    engine = create_audit_engine(audit_url)
    try:
        store.migrate()

        def indexes() -> dict[str, list[str]]:
            found = inspect(engine).get_indexes("audit_events")
            return {index["name"]: index["column_names"] for index in found}

        assert indexes()["ix_audit_events_seq_created_at"] == ["seq", "created_at"]
        assert indexes()["ix_audit_events_created_at_seq"] == ["created_at", "seq"]
        assert "ix_audit_events_created_at" not in indexes()
        run_migration(engine, "0008_submission_history", downgrade=True)
        assert indexes()["ix_audit_events_created_at"] == ["created_at"]
        assert not {"ix_audit_events_seq_created_at", "ix_audit_events_created_at_seq"} & set(
            indexes()
        )
    finally:
        engine.dispose()
        store.close()
