"""Signed checkpoints of the audit chain, tried as an insider with write access and no triggers.

Each tampering below passes the plain hash-chain walk (the insider recomputes hashes) and is
caught by the checkpoints an auditor exported before it happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text, update

from audit import AuditStore
from audit.chain import GENESIS_HASH, chain_hash, event_fields
from audit.checkpoint_verify import CheckpointedReport, load_anchors, verify_with_checkpoints
from audit.checkpoints import (
    Checkpoint,
    CheckpointFileError,
    create_checkpoint,
    export_checkpoints,
)
from audit.models import AuditCheckpoint, AuditEvent
from audit.records import EventDraft
from provenance.authority import Authority
from provenance.checkpoint_signing import CheckpointSigner, CheckpointVerifier

PASSPHRASE = "checkpoint test passphrase"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """One authority for the module (its keys take a moment to make)."""
    return Authority.open(tmp_path_factory.mktemp("authority"), PASSPHRASE)


@pytest.fixture
def signer(authority: Authority) -> CheckpointSigner:
    return CheckpointSigner(authority)


@pytest.fixture
def verifier(authority: Authority) -> CheckpointVerifier:
    return CheckpointVerifier(authority.trust_anchors())


def _append(store: AuditStore, n: int, *, action: str = "block") -> None:
    for i in range(n):
        store.append(EventDraft(job_id=f"job{i}", stage="input", kind="decision", action=action))


@pytest.fixture
def insider(audit_store: AuditStore) -> Iterator[Connection]:
    """A connection with the append-only triggers dropped, as an owner could do."""
    with audit_store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
            connection.execute(text("DROP TRIGGER audit_events_no_truncate ON audit_events"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    with audit_store.engine.begin() as connection:
        yield connection


def _rewrite_and_rehash(connection: Connection, seq: int, action: str) -> None:
    """Change one event's action and recompute every later hash, so the chain walks intact."""
    rows = connection.execute(select(AuditEvent).order_by(AuditEvent.seq)).all()
    prev = GENESIS_HASH
    for row in rows:
        fields = event_fields(row)
        if row.seq == seq:
            fields["action"] = action
        new_hash = chain_hash(prev, fields)
        connection.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == row.seq)
            .values(prev_hash=prev, hash=new_hash, action=fields["action"])
        )
        prev = new_hash


def _anchored(store: AuditStore, signer: CheckpointSigner, tmp_path: Path) -> list[Path]:
    """Ten events with a checkpoint after five and after ten, exported by an auditor."""
    _append(store, 5)
    assert create_checkpoint(store, signer) is not None
    _append(store, 5)
    assert create_checkpoint(store, signer) is not None
    return export_checkpoints(store, tmp_path / "anchors")


@dataclass
class Scene:
    """An anchored chain, its verifier, and an insider's connection (triggers dropped)."""

    store: AuditStore
    signer: CheckpointSigner
    verifier: CheckpointVerifier
    insider: Connection
    anchors: list[Checkpoint]

    def tamper(self, *statements: str) -> None:
        for statement in statements:
            self.insider.execute(text(statement))
        self.insider.commit()

    def verify(self, *, anchored: bool = True) -> CheckpointedReport:
        anchors = self.anchors if anchored else []
        return verify_with_checkpoints(self.store, self.verifier, anchors)


@pytest.fixture
def scene(
    audit_store: AuditStore,
    signer: CheckpointSigner,
    verifier: CheckpointVerifier,
    insider: Connection,
    tmp_path: Path,
) -> Scene:
    anchors = load_anchors(_anchored(audit_store, signer, tmp_path))
    return Scene(audit_store, signer, verifier, insider, anchors)


def test_an_untouched_chain_verifies_against_its_checkpoints_and_anchors(
    audit_store: AuditStore, signer: CheckpointSigner, verifier: CheckpointVerifier, tmp_path: Path
) -> None:
    files = _anchored(audit_store, signer, tmp_path)
    assert create_checkpoint(audit_store, signer) is None, "the head is already covered"
    _append(audit_store, 2)
    report = verify_with_checkpoints(audit_store, verifier, load_anchors(files))
    assert report.intact, report.problems
    assert (report.checkpoints_checked, report.anchors_checked) == (2, 2)
    assert report.newest_checkpoint_seq == 10
    assert report.events_after_newest_checkpoint == 2


def test_deleting_the_newest_events_is_detected(scene: Scene) -> None:
    scene.tamper(
        "DELETE FROM audit_events WHERE seq > 7",
        "DELETE FROM audit_checkpoints WHERE seq > 7",  # covering tracks
    )
    assert scene.store.verify_chain().intact, "the plain walk cannot see a shorter chain"
    report = scene.verify()
    assert not report.intact
    assert report.broken_checkpoint == "checkpoint #2 (seq 10)"
    assert any("events were deleted" in p for p in report.problems)


def test_rewriting_an_event_and_recomputing_later_hashes_is_detected(scene: Scene) -> None:
    _rewrite_and_rehash(scene.insider, 3, "label")
    scene.tamper("DELETE FROM audit_checkpoints")
    assert scene.store.verify_chain().intact, "the rehashed chain walks intact"
    report = scene.verify()
    assert not report.intact
    assert report.broken_checkpoint == "checkpoint #1 (seq 5)"
    assert any("rewritten" in p for p in report.problems)


def test_deleting_a_checkpoint_row_is_detected(scene: Scene) -> None:
    _append(scene.store, 3)
    create_checkpoint(scene.store, scene.signer)
    scene.tamper("DELETE FROM audit_checkpoints WHERE seq = 10")
    without_anchors = scene.verify(anchored=False)
    assert not without_anchors.intact, "the next checkpoint's link names the deleted one"
    assert "checkpoint #2 was deleted" in (without_anchors.reason or "")
    assert any("checkpoint #2 (seq 10) is missing" in p for p in scene.verify().problems)


def test_truncating_the_table_is_detected(scene: Scene) -> None:
    truncate = "TRUNCATE {}" if scene.insider.dialect.name == "postgresql" else "DELETE FROM {}"
    scene.tamper(truncate.format("audit_events"), truncate.format("audit_checkpoints"))
    assert scene.store.verify_chain().intact, "an empty chain walks intact"
    report = scene.verify()
    assert not report.intact
    assert report.broken_checkpoint == "checkpoint #1 (seq 5)"


def test_events_after_the_newest_anchor_can_be_dropped_unseen(scene: Scene) -> None:
    """The documented window: what no checkpoint covers yet, no checkpoint can vouch for."""
    _append(scene.store, 4)
    scene.tamper("DELETE FROM audit_events WHERE seq > 12")
    report = scene.verify()
    assert report.intact
    assert report.events_after_newest_checkpoint == 2


def test_a_stored_checkpoint_with_an_altered_statement_is_reported(
    audit_store: AuditStore, signer: CheckpointSigner, verifier: CheckpointVerifier, tmp_path: Path
) -> None:
    _anchored(audit_store, signer, tmp_path)
    with audit_store.engine.begin() as connection:
        row = connection.execute(select(AuditCheckpoint).where(AuditCheckpoint.seq == 5)).one()
        forged = row.statement.replace('"event_count":5', '"event_count":4')
        connection.execute(
            update(AuditCheckpoint).where(AuditCheckpoint.id == row.id).values(statement=forged)
        )
    report = verify_with_checkpoints(audit_store, verifier)
    assert not report.intact
    assert "signature does not match" in (report.reason or "")


def test_an_anchor_that_is_not_a_checkpoint_gets_a_clear_error(
    audit_store: AuditStore, verifier: CheckpointVerifier, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": "world"}')
    with pytest.raises(CheckpointFileError, match="not a Stillguard audit checkpoint"):
        load_anchors([bogus])
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    with pytest.raises(CheckpointFileError, match="not a readable checkpoint"):
        load_anchors([binary])


def test_an_anchor_signed_by_another_authority_is_refused(
    audit_store: AuditStore, verifier: CheckpointVerifier, tmp_path: Path
) -> None:
    stranger = Authority.open(tmp_path / "stranger", "another passphrase")
    _append(audit_store, 3)
    create_checkpoint(audit_store, CheckpointSigner(stranger))
    files = export_checkpoints(audit_store, tmp_path / "anchors")
    with pytest.raises(CheckpointFileError, match="signed by someone else"):
        verify_with_checkpoints(audit_store, verifier, load_anchors(files))


def test_the_cli_signs_exports_and_verifies_with_anchors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stillguard.cli import main

    home = tmp_path / "home"
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("STILLGUARD_DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, dict]:
        capsys.readouterr()
        code = main([*argv, "--json"])
        return code, json.loads(capsys.readouterr().out)

    assert run("audit", "checkpoint") == (0, {"created": False})
    with AuditStore(f"sqlite:///{home / 'audit.sqlite3'}") as store:
        _append(store, 3)
    code, made = run("audit", "checkpoint")
    assert (code, made["created"], made["event_count"], made["checkpoint"]) == (0, True, 3, 1)
    code, exported = run("audit", "checkpoint", "export", str(tmp_path / "anchors"))
    assert code == 0 and len(exported["files"]) == 1
    code, report = run("audit", "verify", "--anchor", *exported["files"])
    assert (code, report["intact"], report["anchors_checked"]) == (0, True, 1)
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[]")
    capsys.readouterr()
    assert main(["audit", "verify", "--anchor", str(bogus)]) == 2
    assert "not a Stillguard audit checkpoint" in capsys.readouterr().err
