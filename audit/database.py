"""Engines for the audit database, their transaction discipline, and migrations via Alembic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic_core import from_json
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url

# Keys of PostgreSQL advisory locks: one serialises appends to the chain, one migrations.
APPEND_LOCK_KEY = 0x5347_4155_4449_5401
MIGRATE_LOCK_KEY = 0x5347_4155_4449_5402

# Execution option read by the SQLite `begin` hook: "IMMEDIATE" takes the write lock up front.
SQLITE_BEGIN_OPTION = "stillguard_sqlite_begin"
SQLITE_BUSY_TIMEOUT_S = 30.0


def normalise_url(url: str) -> URL:
    """Parse a SQLAlchemy URL; a bare `postgresql://` means psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_audit_engine(url: str) -> Engine:
    """An engine whose transactions behave the same on SQLite and PostgreSQL. JSON columns are
    parsed by pydantic-core (Rust, about half the time of the json module: a backtest parses
    a million signal lists)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, json_deserializer=from_json)
    engine = create_engine(
        parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, json_deserializer=from_json
    )
    _take_over_sqlite_transactions(
        engine, file_backed=parsed.database not in (None, "", ":memory:")
    )
    return engine


def _take_over_sqlite_transactions(engine: Engine, *, file_backed: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front,
    # so two writers can fork the chain. SQLAlchemy's documented recipe: switch the driver's
    # handling off and emit BEGIN ourselves, IMMEDIATE for writers.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if file_backed:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def writer_engine(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock when they begin."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    return engine


def lock_for_append(connection: Connection) -> None:
    """Serialise appends across processes until this transaction ends (PostgreSQL only).

    SQLite writers already hold the database's write lock from BEGIN IMMEDIATE.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})


def migrations_dir() -> Path:
    """The Alembic script directory: `migrations/` beside this package, in a checkout or installed."""
    candidate = Path(__file__).resolve().parent.parent / "migrations"
    if (candidate / "env.py").is_file():
        return candidate
    import migrations  # installed elsewhere on the path

    return Path(migrations.__file__).resolve().parent


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic Config for our script directory, handed a live connection and/or the URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    config.attributes["url"] = url
    return config


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*['\"]?([\w.-]+|None)", re.MULTILINE)


def head_revision() -> str | None:
    """The one revision no other revision follows, read from the version files' source (about a
    millisecond, where importing Alembic costs a quarter of a second); None if it is not one."""
    revisions, followed = set(), set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text()))
        if "revision" in found:
            revisions.add(found["revision"])
            followed.add(found.get("down_revision", "None"))
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


def is_at_head(engine: Engine) -> bool:
    """Whether the database already records the newest revision (so `upgrade head` is a no-op)."""
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return list(versions) == [head]


def run_migration(engine: Engine, revision: str = "head", *, downgrade: bool = False) -> None:
    """Upgrade (or downgrade) the schema to `revision`, one migrator at a time."""
    if revision == "head" and not downgrade and is_at_head(engine):
        return  # every process opens the store; most find it current (bench/cold_start)
    from alembic import command

    with writer_engine(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK_KEY}
            )
        config = alembic_config(connection)
        if downgrade:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
