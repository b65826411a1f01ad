"""Fixture: a fresh PostgreSQL database per test, dropped afterwards.

`pg_url` creates `sg_test_<random>` on 127.0.0.1:5432 (override the server with
STILLGUARD_TEST_PG_ADMIN_URL, a libpq URL of a maintenance database) and yields its
SQLAlchemy URL. When the server is unreachable the test is skipped, except under CI=true,
where it fails: CI must never silently lose the PostgreSQL half of the suite.

`audit_url` runs a test once against a SQLite file in tmp_path and once against `pg_url`;
`audit_store` is a migrated AuditStore on that URL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from audit import AuditStore

ADMIN_URL = os.environ.get(
    "STILLGUARD_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {exc}".strip()
        if _in_ci():
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(
            f"{message}; start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )


@contextmanager
def fresh_database(prefix: str = "sg_test") -> Iterator[str]:
    """A brand-new, empty PostgreSQL database: yields its SQLAlchemy URL, drops it afterwards.

    Raises psycopg.OperationalError when the server is unreachable (the benchmark and the demo
    use this directly; `pg_url` turns that into a skip, or a failure under CI).
    """
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    _admin_connection().close()  # skip (or fail under CI) when the server is down
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The audit database URL, once per backend: a SQLite file, then a fresh PostgreSQL db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def audit_store(audit_url: str) -> Iterator[AuditStore]:
    """A migrated AuditStore on each backend, closed after the test."""
    store = AuditStore(audit_url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
