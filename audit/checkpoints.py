"""Signed checkpoints of the audit chain head, their export, and verification against them.

A checkpoint is a statement (canonical JSON) of the chain head at one moment: the head event's
`seq` and `hash`, the number of events up to it, the time, the checkpoint's ordinal and the
SHA-256 of the previous checkpoint's statement. It is signed by the provenance authority's
checkpoint certificate and RFC 3161 time-stamped (the signer is injected: see
`provenance.checkpoint_signing`), stored in `audit_checkpoints`, and exported as one JSON file
per checkpoint so an auditor can keep copies outside the database ("anchors").

What an insider with write access (triggers dropped) can and cannot hide:

* Rewriting, inserting or deleting any event at or before a checkpoint's `seq` is detected: the
  event at that `seq` no longer has the signed hash, or the count of events up to it differs.
  Recomputing every later hash does not help; nobody but the authority can sign a new head.
* Deleting a checkpoint row is detected when a later checkpoint row remains (ordinals and the
  `previous` link break), and always when an exported copy of it is given with `--anchor`.
* Truncating the events (or both tables) is detected by any exported anchor.
* Not detectable: events appended after the newest checkpoint an auditor holds can be dropped
  or rewritten unseen, as can the newest checkpoint rows themselves when no anchor covers them.
  The checkpoint interval (every N events or T seconds) bounds that window; exporting often
  bounds it for an auditor.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from audit.chain import canonical_json
from audit.database import lock_for_append
from audit.models import AuditCheckpoint, AuditEvent
from audit.records import iso_utc
from audit.store import AuditStore

STATEMENT_FORMAT = "stillguard.audit-checkpoint/1"
MAX_ANCHOR_BYTES = 64 * 1024


class CheckpointFileError(ValueError):
    """A file given as an anchor is not a checkpoint, or not one signed by this authority."""


class SignedStatementLike(Protocol):
    """What a signer hands back (provenance.checkpoint_signing.SignedStatement)."""

    @property
    def signature(self) -> bytes: ...
    @property
    def chain_pem(self) -> str: ...
    @property
    def time_stamp(self) -> bytes: ...


class StatementSigner(Protocol):
    """Signs and time-stamps a checkpoint statement."""

    def sign(self, statement: bytes) -> SignedStatementLike: ...


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint, as stored or as read back from an exported file."""

    statement: str
    signature: bytes
    chain_pem: str
    time_stamp: bytes

    @property
    def fields(self) -> dict[str, Any]:
        """The signed statement's fields."""
        return json.loads(self.statement)

    @property
    def ordinal(self) -> int:
        return int(self.fields["checkpoint"])

    @property
    def seq(self) -> int:
        return int(self.fields["seq"])

    @property
    def digest(self) -> str:
        """SHA-256 of the statement: what the next checkpoint names as `previous`."""
        return hashlib.sha256(self.statement.encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        return f"checkpoint #{self.ordinal} (seq {self.seq})"

    def to_file_dict(self) -> dict[str, Any]:
        """The exported form: the statement as signed, the signature, chain and stamp."""
        return {
            "format": STATEMENT_FORMAT,
            "statement": self.statement,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "chain_pem": self.chain_pem,
            "time_stamp": base64.b64encode(self.time_stamp).decode("ascii"),
        }

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.statement, bytes(row.signature), row.chain_pem, bytes(row.time_stamp))

    @classmethod
    def from_file(cls, path: Path) -> Checkpoint:
        """Read an exported checkpoint; CheckpointFileError when it is not one."""
        try:
            if path.stat().st_size > MAX_ANCHOR_BYTES:
                raise CheckpointFileError(f"{path}: too large to be a checkpoint")
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATEMENT_FORMAT:
                raise CheckpointFileError(f"{path}: not a Stillguard audit checkpoint")
            checkpoint = cls(
                str(data["statement"]),
                base64.b64decode(data["signature"], validate=True),
                str(data["chain_pem"]),
                base64.b64decode(data["time_stamp"], validate=True),
            )
            fields = checkpoint.fields
            if fields.get("format") != STATEMENT_FORMAT:
                raise CheckpointFileError(f"{path}: its statement is not a checkpoint statement")
            _ = (checkpoint.ordinal, checkpoint.seq, fields["head_hash"], fields["event_count"])
        except CheckpointFileError:
            raise
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise CheckpointFileError(f"{path}: not a readable checkpoint ({error})") from error
        return checkpoint


def statement_text(
    *, ordinal: int, seq: int, head_hash: str, event_count: int, at: datetime, previous: str | None
) -> str:
    """The canonical JSON a checkpoint signs."""
    return canonical_json(
        {
            "format": STATEMENT_FORMAT,
            "checkpoint": ordinal,
            "seq": seq,
            "head_hash": head_hash,
            "event_count": event_count,
            "created_at": iso_utc(at),
            "previous": previous,
        }
    )


def create_checkpoint(store: AuditStore, signer: StatementSigner) -> Checkpoint | None:
    """Sign the current chain head; None when there are no events or the head is already covered.

    Runs under the append lock, so the head cannot move while it is read and signed, and two
    processes never write checkpoints with the same ordinal.
    """
    with store.write_transaction() as session:
        lock_for_append(session.connection())
        head = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        if head is None:
            return None
        last = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
        if last is not None and last.seq >= head.seq:
            return None
        after = last.seq if last is not None else 0
        new_events = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.seq > after)
        )
        previous = Checkpoint.from_row(last) if last is not None else None
        now = datetime.now(UTC)
        statement = statement_text(
            ordinal=(previous.ordinal + 1) if previous else 1,
            seq=head.seq,
            head_hash=head.hash,
            event_count=(last.event_count if last is not None else 0) + int(new_events or 0),
            at=now,
            previous=previous.digest if previous else None,
        )
        signed = signer.sign(statement.encode("utf-8"))
        checkpoint = Checkpoint(statement, signed.signature, signed.chain_pem, signed.time_stamp)
        fields = checkpoint.fields
        session.add(
            AuditCheckpoint(
                seq=head.seq,
                head_hash=head.hash,
                event_count=fields["event_count"],
                created_at=now,
                statement=statement,
                signature=checkpoint.signature,
                chain_pem=checkpoint.chain_pem,
                time_stamp=checkpoint.time_stamp,
            )
        )
    return checkpoint


@dataclass(frozen=True)
class CheckpointDue:
    """How far the chain has moved past the newest checkpoint."""

    events_since: int
    seconds_since: float | None  # None: no checkpoint yet


def checkpoint_due(store: AuditStore) -> CheckpointDue:
    """Events and seconds since the newest checkpoint (two indexed reads)."""
    with store.engine.connect() as connection:
        last = connection.execute(
            select(AuditCheckpoint.seq, AuditCheckpoint.created_at)
            .order_by(AuditCheckpoint.id.desc())
            .limit(1)
        ).first()
        after = last.seq if last is not None else 0
        head = connection.scalar(select(func.max(AuditEvent.seq))) or 0
    since = None
    if last is not None:
        created = last.created_at
        created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
        since = (datetime.now(UTC) - created).total_seconds()
    # seq gaps (rolled-back appends on PostgreSQL) only make this an over-estimate.
    return CheckpointDue(events_since=max(0, head - after), seconds_since=since)


def stored_checkpoints(store: AuditStore) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id))
        return [
            Checkpoint(r.statement, bytes(r.signature), r.chain_pem, bytes(r.time_stamp))
            for r in rows
        ]


def export_checkpoints(store: AuditStore, directory: Path) -> list[Path]:
    """Write every stored checkpoint to `directory` as `checkpoint-<ordinal>-seq<seq>.json`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for checkpoint in stored_checkpoints(store):
        path = directory / f"checkpoint-{checkpoint.ordinal:08d}-seq{checkpoint.seq}.json"
        text = json.dumps(checkpoint.to_file_dict(), indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        written.append(path)
    return written
