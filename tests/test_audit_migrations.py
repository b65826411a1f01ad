"""Specification of the audit schema's migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from audit import AuditQuery, AuditStore
from audit.database import create_audit_engine, run_migration
from audit.models import Base
from audit.records import EventDraft
from provenance.repository import registry_metadata

REPO = Path(__file__).resolve().parent.parent
TABLES = {
    "jobs",
    "audit_events",
    "api_keys",
    "provenance_manifests",
    "provenance_fingerprint_bands",
    "outbox_messages",
    "webhook_endpoints",
    "audit_checkpoints",
    "policy_versions",
    "policy_activations",
    "hash_bank_versions",
    "review_claims",
    "submission_history",
}
SCHEMA = [Base.metadata, registry_metadata]


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrate_builds_the_schema_from_an_empty_database(audit_url: str) -> None:
    assert _tables(audit_url) == set()
    store = AuditStore(audit_url)
    try:
        store.migrate()
        store.migrate()  # a second run (another worker starting) changes nothing
        assert _tables(audit_url) == TABLES
        store.append(EventDraft(job_id=None, stage="intake", kind="job.created"))
        assert store.verify_chain().intact
    finally:
        store.close()


def test_models_match_what_the_migrations_build(audit_store: AuditStore, audit_url: str) -> None:
    engine = create_audit_engine(audit_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SCHEMA) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(audit_url: str) -> None:
    store = AuditStore(audit_url)
    try:
        store.migrate()
        store.append(EventDraft(job_id=None, stage="intake", kind="job.created"))
        run_migration(create_audit_engine(audit_url), "base", downgrade=True)
        assert _tables(audit_url) == set()
        store.migrate()
        assert _tables(audit_url) == TABLES
        assert store.events(AuditQuery()) == []
        first = store.append(EventDraft(job_id=None, stage="intake", kind="job.created"))
        assert (first.seq, first.prev_hash) == (1, "0" * 64), "a fresh chain after the round trip"
        assert store.verify_chain().intact
    finally:
        store.close()


def test_operators_can_migrate_with_the_alembic_command(audit_url: str, tmp_path: Path) -> None:
    environment = {**os.environ, "STILLGUARD_DATABASE_URL": audit_url, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(REPO / "migrations" / "alembic.ini"),
            "upgrade",
            "head",
        ],
        check=True,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert _tables(audit_url) == TABLES
