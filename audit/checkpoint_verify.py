"""Verify the audit chain against its signed checkpoints and an auditor's exported anchors.

See `audit.checkpoints` for what a checkpoint signs and what it makes detectable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from audit.chain import ChainWalker
from audit.checkpoints import Checkpoint, CheckpointFileError, stored_checkpoints
from audit.models import AuditEvent
from audit.records import ChainReport, json_fields
from audit.store import AuditStore

WALK_BATCH = 5000


class StatementVerifier(Protocol):
    """Checks a signed checkpoint against trust anchors; raises ValueError naming what fails."""

    def verify(
        self, statement: bytes, signature: bytes, chain_pem: str, time_stamp: bytes
    ) -> datetime: ...


@dataclass
class CheckpointedReport:
    """The chain walked against every stored checkpoint and every anchor an auditor gave."""

    chain: ChainReport
    checkpoints_checked: int = 0
    anchors_checked: int = 0
    newest_checkpoint_seq: int | None = None
    events_after_newest_checkpoint: int = 0
    broken_checkpoint: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.chain.intact and not self.problems

    @property
    def reason(self) -> str | None:
        return self.problems[0] if self.problems else self.chain.reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form printed by `audit verify --json`."""
        return {
            **self.chain.to_dict(),
            **json_fields(self, omit=("chain",)),
            "intact": self.intact,
            "reason": self.reason,
        }


def verify_with_checkpoints(
    store: AuditStore, verifier: StatementVerifier, anchors: Sequence[Checkpoint] = ()
) -> CheckpointedReport:
    """Walk the chain once, checking it against stored checkpoints and exported anchors.

    Anchors must carry a good signature (CheckpointFileError otherwise: an auditor handed us
    something that is not evidence). A stored checkpoint with a bad signature, a broken link
    between stored checkpoints, an anchor missing from the database, or an event that disagrees
    with a checkpoint makes the report not intact, naming the first disagreement.
    """
    for anchor in anchors:
        try:
            _check_signature(verifier, anchor)
        except ValueError as error:
            raise CheckpointFileError(f"anchor {anchor.name}: {error}") from error
    stored = stored_checkpoints(store)
    problems: list[tuple[int, str, str]] = []  # (seq, checkpoint name, why)
    good: dict[str, Checkpoint] = {}
    for checkpoint in stored:
        try:
            _check_signature(verifier, checkpoint)
        except ValueError as error:
            problems.append((checkpoint.seq, checkpoint.name, f"stored {checkpoint.name}: {error}"))
            continue
        good[checkpoint.digest] = checkpoint
    problems += _link_problems(stored)
    stored_digests = {c.digest for c in stored}
    for anchor in anchors:
        if anchor.digest not in stored_digests:
            problems.append(
                (anchor.seq, anchor.name, f"{anchor.name} is missing from the database")
            )
        good[anchor.digest] = anchor
    walk = _walk(store, sorted(good.values(), key=lambda c: c.seq))
    problems += walk.problems
    problems.sort(key=lambda p: p[0])
    newest = max((c.seq for c in good.values()), default=None)
    return CheckpointedReport(
        chain=walk.chain,
        checkpoints_checked=len(stored),
        anchors_checked=len(anchors),
        newest_checkpoint_seq=newest,
        events_after_newest_checkpoint=walk.count - walk.count_at(newest),
        broken_checkpoint=problems[0][1] if problems else None,
        problems=[why for _, _, why in problems],
    )


def _check_signature(verifier: StatementVerifier, checkpoint: Checkpoint) -> None:
    verifier.verify(
        checkpoint.statement.encode("utf-8"),
        checkpoint.signature,
        checkpoint.chain_pem,
        checkpoint.time_stamp,
    )


def _link_problems(stored: Sequence[Checkpoint]) -> list[tuple[int, str, str]]:
    """Ordinals count up from 1 and each statement names the previous one's digest."""
    problems = []
    previous: Checkpoint | None = None
    for checkpoint in stored:
        expected_ordinal = previous.ordinal + 1 if previous else 1
        expected_link = previous.digest if previous else None
        if checkpoint.ordinal != expected_ordinal or checkpoint.fields["previous"] != expected_link:
            missing = f"#{expected_ordinal}"
            if checkpoint.ordinal - 1 > expected_ordinal:
                missing += f"..#{checkpoint.ordinal - 1}"
            why = f"{checkpoint.name} does not follow the checkpoint before it: "
            why += f"checkpoint {missing} was deleted or altered"
            problems.append((checkpoint.seq, checkpoint.name, why))
        previous = checkpoint
    return problems


@dataclass
class _Walk:
    chain: ChainReport
    count: int
    counts: dict[int, int]
    problems: list[tuple[int, str, str]]

    def count_at(self, seq: int | None) -> int:
        return self.counts.get(seq, 0) if seq is not None else 0


def _walk(store: AuditStore, checkpoints: Sequence[Checkpoint]) -> _Walk:
    """One pass over the chain: hash links, and the events at each checkpoint's seq."""
    walker = ChainWalker()
    pending = list(checkpoints)
    problems: list[tuple[int, str, str]] = []
    counts: dict[int, int] = {}
    count = 0
    last_seq = 0
    linked = True
    for batch in _event_batches(store):
        linked = linked and walker.feed(batch)  # after the first break, only checkpoints count
        for event in batch:
            count += 1
            last_seq = event.seq
            while pending and pending[0].seq <= event.seq:
                checkpoint = pending.pop(0)
                counts[checkpoint.seq] = count
                problems += _disagreement(checkpoint, event, count)
    for checkpoint in pending:  # the chain ends before these checkpoints
        why = f"{checkpoint.name} covers events up to seq {checkpoint.seq} "
        why += f"({checkpoint.fields['event_count']} events), but the chain ends at seq "
        why += f"{last_seq} ({count} events): events were deleted"
        problems.append((checkpoint.seq, checkpoint.name, why))
    return _Walk(walker.report(), count, counts, problems)


def _disagreement(checkpoint: Checkpoint, event: Any, count: int) -> list[tuple[int, str, str]]:
    fields = checkpoint.fields
    if event.seq != checkpoint.seq:
        why = f"event seq {checkpoint.seq}, the head it signed, is missing"
    elif event.hash != fields["head_hash"]:
        why = f"event seq {event.seq} has hash {event.hash[:16]}..., the checkpoint signed "
        why += f"{fields['head_hash'][:16]}...: events up to it were rewritten"
    elif count != fields["event_count"]:
        why = f"{count} events up to seq {event.seq}, the checkpoint signed "
        why += f"{fields['event_count']}: events were deleted or inserted"
    else:
        return []
    return [(checkpoint.seq, checkpoint.name, f"{checkpoint.name}: {why}")]


def _event_batches(store: AuditStore) -> Iterator[list[Any]]:
    after = 0
    while True:
        with store.engine.connect() as connection:
            batch = list(
                connection.execute(
                    select(AuditEvent)
                    .where(AuditEvent.seq > after)
                    .order_by(AuditEvent.seq)
                    .limit(WALK_BATCH)
                )
            )
        if not batch:
            return
        yield batch
        after = batch[-1].seq


def load_anchors(paths: Iterable[Path]) -> list[Checkpoint]:
    """Read exported checkpoint files given with `--anchor`."""
    return [Checkpoint.from_file(Path(path)) for path in paths]
