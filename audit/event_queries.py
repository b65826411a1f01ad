"""How the audit store reads events: reviewer queries planned for 1M+ events, and the stream of
recorded decisions a policy backtest replays.

Reviewer queries answer in chain order (`seq`) with a LIMIT, which both planners get wrong when
the filter is a time range: they assume matches are spread evenly over `seq`, but `created_at`
grows with `seq`, so a late window is found only after scanning the whole table before it (p95
116 ms on SQLite, 225 ms on PostgreSQL at 1M events, bench/audit.py). Time-bounded queries are
therefore planned here, in two steps: the seqs of the page are chosen through a narrow index
(the one that touches fewer entries, estimated from two index probes), then those rows are read.
The estimate only picks between two exact plans; results never depend on `created_at` growing
with `seq` (clocks may step back, workers may disagree).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, select

from audit.models import AuditEvent
from audit.records import AuditQuery

# What sorting one event of a time window costs against skipping one in seq order, measured at
# 1M (bench/audit.py): PostgreSQL skips through an index-only scan ~4x cheaper than it sorts.
SORT_TO_SKIP_COST = {"sqlite": 1, "postgresql": 4}
# Rows per page of the decision stream: ~40 ms a page on either backend at 1M, no transaction held
# between pages (a long read would pin PostgreSQL's snapshot and SQLite's WAL).
DECISION_PAGE = 5000


class RecordedDecision(NamedTuple):
    """A policy decision as recorded, with only what a backtest replays (and who overrode it)."""

    seq: int
    job_id: str | None
    stage: str
    kind: str
    action: str | None
    policy_version: str | None
    signals: list[dict[str, Any]]
    reviewer: str | None  # set when a reviewer made this decision, not a policy pack


def _filters(query: AuditQuery) -> list[ColumnElement[bool]]:
    equal_to = {
        AuditEvent.job_id: query.job_id,
        AuditEvent.stage: query.stage,
        AuditEvent.action: query.action,
        AuditEvent.kind: query.kind,
        AuditEvent.policy_version: query.policy_version,
    }
    where = [column == value for column, value in equal_to.items() if value is not None]
    if query.since is not None:
        where.append(AuditEvent.created_at >= query.since)
    if query.until is not None:
        where.append(AuditEvent.created_at < query.until)
    # Always bounded below (seqs start at 1): with it SQLite walks the (seq, created_at) index
    # rather than the table when it skips older events.
    where.append(AuditEvent.seq > (query.after_seq or 0))
    return where


def _literal_limit(limit: int) -> Any:
    # Rendered into the SQL at execution (still one cached statement): SQLite plans a bound
    # LIMIT as unbounded and scans the whole table for "blocks in the last hour" (173 ms at 1M)
    # where it uses (action, created_at) with a literal one (1 ms).
    return bindparam("page_limit", limit, literal_execute=True)


def event_select(connection: Connection, query: AuditQuery) -> Select[tuple[AuditEvent]]:
    """The statement that answers `query` in chain order, planned for this database."""
    limit = _literal_limit(query.limit)
    where = _filters(query)
    timed = query.since is not None or query.until is not None
    if query.job_id is not None or (query.policy_version is None and not timed):
        return select(AuditEvent).where(*where).order_by(AuditEvent.seq).limit(limit)
    page = select(AuditEvent.seq).where(*where)
    if query.policy_version is not None:
        # The page's seqs from (policy_version, seq) alone: PostgreSQL otherwise walks the
        # primary key past every older version's events (89 ms at 1M).
        page = page.order_by(AuditEvent.seq)
    elif _window_is_smaller(connection, query):
        # Find the window through a created_at index, sort its seqs (seq + 0: no index order).
        page = page.order_by(AuditEvent.seq + 0)
    else:
        # Walk seq in order through the narrow (seq, created_at) index (migration 0009), index
        # only, skipping older events; no other index yields this order.
        page = page.order_by(AuditEvent.seq, AuditEvent.created_at)
    seqs = page.limit(limit).scalar_subquery()
    return select(AuditEvent).where(AuditEvent.seq.in_(seqs)).order_by(AuditEvent.seq)


def _window_is_smaller(connection: Connection, query: AuditQuery) -> bool:
    """Whether the time window holds fewer events than precede it, as two index probes estimate
    (it only chooses the faster of two exact plans)."""
    start = _first_seq_at(connection, query.since) if query.since is not None else 0
    end = _first_seq_at(connection, query.until) if query.until is not None else None
    if end is None:
        end = (connection.scalar(select(func.max(AuditEvent.seq))) or 0) + 1
    if start is None:
        return True  # nothing at or after `since`: the window is empty
    start = max(start, query.after_seq or 0)
    ratio = SORT_TO_SKIP_COST.get(connection.dialect.name, 1)
    return ratio * max(0, end - start) < start - (query.after_seq or 0)


def _first_seq_at(connection: Connection, moment: datetime) -> int | None:
    """The seq of the earliest event at or after `moment` (one probe of the created_at index)."""
    return connection.scalar(
        select(AuditEvent.seq)
        .where(AuditEvent.created_at >= moment)
        .order_by(AuditEvent.created_at)
        .limit(1)
    )


def _decisions_in(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where = [AuditEvent.kind == "decision"]
    if since is not None:
        where.append(AuditEvent.created_at >= since)
    if until is not None:
        where.append(AuditEvent.created_at < until)
    return where


def decision_seq_bounds(
    connection: Any, since: datetime | None, until: datetime | None = None
) -> tuple[int, int] | None:
    """The first and last sequence numbers of the `decision` events in [since, until), or None
    when there are none (a backtest splits that range between its workers)."""
    bounds = select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
    first, last = connection.execute(bounds.where(*_decisions_in(since, until))).one()
    return None if first is None else (int(first), int(last))


def decision_pages(
    connection_for_page: Any,
    since: datetime | None,
    until: datetime | None = None,
    page: int = DECISION_PAGE,
    seqs: tuple[int, int] | None = None,
) -> Iterator[list[RecordedDecision]]:
    """Every recorded `decision` event in [since, until) (and with `seqs`, in that inclusive
    range of sequence numbers), in chain order, a page at a time.

    Keyset paging on seq, only the columns a backtest reads, rows read as tuples (no ORM
    objects) and each JSON column parsed once by the driver. `connection_for_page()` opens a
    connection per page, so no transaction stays open while the caller works.
    """
    columns = (
        AuditEvent.seq,
        AuditEvent.job_id,
        AuditEvent.stage,
        AuditEvent.kind,
        AuditEvent.action,
        AuditEvent.policy_version,
        AuditEvent.signals,
        AuditEvent.payload["reviewer"].as_string(),
    )
    statement = select(*columns).where(*_decisions_in(since, until))
    after = 0
    if seqs is not None:
        after = seqs[0] - 1
        statement = statement.where(AuditEvent.seq <= seqs[1])
    statement = statement.order_by(AuditEvent.seq).limit(_literal_limit(page))
    while True:
        with connection_for_page() as connection:
            rows = connection.execute(statement.where(AuditEvent.seq > after)).all()
        if not rows:
            return
        yield [RecordedDecision(*row) for row in rows]
        if len(rows) < page:
            return
        after = rows[-1][0]
