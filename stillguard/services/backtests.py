"""`policy backtest` over the audit log: the recorded decisions are split by sequence number
between worker processes, each reading and replaying its own stretch, so a million decisions
take the CPUs there are rather than one."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from audit.event_queries import RecordedDecision
from audit.store import AuditStore
from policies.backtest import BacktestReport, backtest
from policies.pack import PolicyPack

MIN_STRETCH = 50_000  # sequence numbers a worker is worth starting for


def backtest_log(
    store: AuditStore,
    pack: PolicyPack,
    *,
    baseline: PolicyPack | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    workers: int = 1,
    min_stretch: int = MIN_STRETCH,
) -> BacktestReport:
    """`pack` replayed over the policy decisions recorded in [since, until) (reviewers' own
    decisions left out), against the recorded actions or `baseline`; changes in log order. Up
    to `workers` processes, each with at least `min_stretch` sequence numbers of the log."""
    report = BacktestReport(pack.version, baseline.version if baseline else None)
    bounds = store.decision_seqs(since, until)
    if bounds is None:
        return report
    first, last = bounds
    count = max(1, min(workers, (last - first + 1) // min_stretch))
    if count == 1:
        report.merge(backtest(pack, _policy_decisions(store, since, until), baseline=baseline))
        return report
    step = (last - first + count) // count
    stretches = [(lo, min(last, lo + step - 1)) for lo in range(first, last + 1, step)]
    packs = (pack.to_dict(), baseline.to_dict() if baseline else None)
    jobs = [(store.url, *packs, since, until, stretch) for stretch in stretches]
    # Forked workers must not share this process's pooled connections (a PostgreSQL socket
    # closed by a child is closed for the parent too): drop them first; each worker opens its own.
    store.engine.dispose()
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        for part in pool.map(_replay_stretch, jobs):
            report.merge(part)
    return report


def _policy_decisions(
    store: AuditStore,
    since: datetime | None,
    until: datetime | None,
    seqs: tuple[int, int] | None = None,
) -> Iterator[RecordedDecision]:
    return (d for d in store.decisions(since, until, seqs) if not d.reviewer)


def _replay_stretch(job: tuple[Any, ...]) -> BacktestReport:
    """A worker's part: its own store connection and packs, one stretch of the log."""
    url, pack, baseline, since, until, seqs = job
    store = AuditStore(url)
    try:
        return backtest(
            PolicyPack.from_dict(pack),
            _policy_decisions(store, since, until, seqs),
            baseline=PolicyPack.from_dict(baseline) if baseline else None,
        )
    finally:
        store.close()
