"""Audit figures (issue 11): checkpoint cost, verify time, reviewer query p95, on SQLite and PG.

    .venv/bin/python bench/audit.py [--events 1000000] [--backend sqlite|postgresql|both]

Fills a fresh database with `--events` chained decision events (bulk-inserted with their real
hashes, one checkpoint every `--checkpoint-every` events, as a running service would leave it),
then prints: the cost of one checkpoint (sign + RFC 3161 stamp + insert), `audit verify` over
the whole chain against every checkpoint, and the p50/p95 of the five most common reviewer
queries (one job's events; a stage's decisions, newest page; blocks in the last hour; one policy
version's decisions; a time window), 50 runs each, and the read a `policy backtest` makes: every
recorded decision streamed out of the store (the replay itself is timed by bench/policies.py). PostgreSQL runs on a new database beside
`STILLGUARD_BENCH_PG_ADMIN` (default postgresql://postgres@127.0.0.1:5432/postgres), dropped after.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit import AuditQuery, AuditStore
from audit.chain import GENESIS_HASH, chain_hash, event_fields
from audit.checkpoint_verify import verify_with_checkpoints
from audit.checkpoints import create_checkpoint
from audit.models import AuditEvent
from audit.records import EventDraft, EventRecord
from provenance.authority import Authority
from provenance.checkpoint_signing import CheckpointSigner, CheckpointVerifier

PG_ADMIN = os.environ.get(
    "STILLGUARD_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STAGES = ("input", "output")
ACTIONS = ("label", "label", "label", "restrict", "review", "block")
VERSIONS = ("2026.11.0", "2026.11.1", "2026.12.0")
BATCH = 10_000


def one_nsfw_signal(rng: random.Random, stage: str) -> list[dict[str, object]]:
    """The signals of a bench decision: one score (the queries never read them)."""
    return [{"category": "nsfw", "score": round(rng.random(), 4), "model": "b"}]


def fill(
    store: AuditStore,
    signer: CheckpointSigner,
    count: int,
    every: int,
    signals_for: Callable[[random.Random, str], list[dict[str, object]]] = one_nsfw_signal,
) -> float:
    """Insert `count` chained decision events (input and output in turn, `signals_for` each);
    a checkpoint after every `every`. Returns seconds."""
    rng = random.Random(5)
    prev = GENESIS_HASH
    start_time = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / count
    began = time.perf_counter()
    for first in range(0, count, BATCH):
        rows = []
        for i in range(first, min(first + BATCH, count)):
            record = EventRecord(
                seq=i + 1,
                event_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                job_id=f"{i // 4:032x}",
                stage=STAGES[i % 2],
                kind="decision",
                action=rng.choice(ACTIONS),
                policy_version=VERSIONS[i * len(VERSIONS) // count],
                decision_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                reasons=("input.nsfw.review: nsfw score 0.612 >= 0.5 -> review",),
                signals=tuple(signals_for(rng, STAGES[i % 2])),
                payload={},
                created_at=start_time + step * i,
                prev_hash=prev,
                hash="",
            )
            digest = chain_hash(prev, event_fields(record))
            row = {k: v for k, v in record.to_dict().items() if k != "seq"}
            row.update(created_at=record.created_at, prev_hash=prev, hash=digest)
            rows.append(row)
            prev = digest
        with store.engine.begin() as connection:
            connection.execute(AuditEvent.__table__.insert(), rows)
        if (first + BATCH) % every == 0 or first + BATCH >= count:
            create_checkpoint(store, signer)
    return time.perf_counter() - began


def timed(what: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        what()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def reviewer_queries(store: AuditStore, count: int) -> dict[str, Callable[[], object]]:
    rng = random.Random(9)
    now = datetime.now(UTC)
    return {
        "one job's events": lambda: store.events(
            AuditQuery(job_id=f"{rng.randrange(count // 4):032x}")
        ),
        "input decisions, a page": lambda: store.events(
            AuditQuery(stage="input", kind="decision", after_seq=rng.randrange(count), limit=100)
        ),
        "blocks in the last hour": lambda: store.events(
            AuditQuery(action="block", since=now - timedelta(hours=1), limit=100)
        ),
        "one policy version, a page": lambda: store.events(
            AuditQuery(policy_version=VERSIONS[1], limit=100)
        ),
        "a one-day window": lambda: store.events(
            AuditQuery(
                since=now - timedelta(days=rng.randrange(2, 29)),
                until=now - timedelta(days=1),
                limit=100,
            )
        ),
    }


def run(name: str, url: str, authority: Authority, args: argparse.Namespace) -> None:
    store = AuditStore(url)
    store.migrate()
    try:
        signer = CheckpointSigner(authority)
        seconds = fill(store, signer, args.events, args.checkpoint_every)
        print(f"[{name}] {args.events:,} events inserted with checkpoints in {seconds:.0f} s")
        with store.engine.connect() as connection:
            # Planner statistics and PostgreSQL's visibility map (index-only scans), as
            # autovacuum (it vacuums insert-only tables too) and SQLite's optimize keep them.
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
            )
        store.append(EventDraft(job_id=None, stage="bench", kind="tick"))
        median, p95 = timed(
            lambda: (
                store.append(EventDraft(job_id=None, stage="bench", kind="tick")),
                create_checkpoint(store, signer),
            ),
            20,
        )
        print(
            f"[{name}] checkpoint (one append + sign + stamp + insert): p50 {median:.1f} ms, "
            f"p95 {p95:.1f} ms"
        )
        if not args.skip_verify:
            verifier = CheckpointVerifier(authority.trust_anchors())
            began = time.perf_counter()
            report = verify_with_checkpoints(store, verifier)
            print(
                f"[{name}] audit verify: {report.chain.checked:,} events against "
                f"{report.checkpoints_checked} checkpoints in {time.perf_counter() - began:.1f} s "
                f"(intact={report.intact})"
            )
        for label, query in reviewer_queries(store, args.events).items():
            median, p95 = timed(query, 50)
            print(f"[{name}] query {label:<28} p50 {median:6.1f} ms  p95 {p95:6.1f} ms")
        began = time.perf_counter()
        streamed = sum(1 for _ in store.decisions())
        print(
            f"[{name}] backtest read: {streamed:,} decisions streamed in "
            f"{time.perf_counter() - began:.1f} s"
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--skip-verify", action="store_true", help="only checkpoint and queries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        authority = Authority.open(Path(tmp), "bench passphrase")
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{tmp}/bench.db", authority, args)
        if args.backend in ("postgresql", "both"):
            name = f"sg_bench_{secrets.token_hex(4)}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            try:
                base = PG_ADMIN.rsplit("/", 1)[0]
                run("postgresql", f"{base}/{name}", authority, args)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
