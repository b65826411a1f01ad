"""Alembic environment for the audit database.

Where the database comes from, first match wins:
1. `config.attributes["connection"]`: a live connection (what `AuditStore.migrate` passes);
2. `config.attributes["url"]`, then `-x url=...` on the alembic command line;
3. the `sqlalchemy.url` main option, then STILLGUARD_DATABASE_URL (operators running `alembic`).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from audit.database import create_audit_engine
from audit.models import Base
from provenance.repository import registry_metadata

config = context.config
# The audit store's tables and the provenance manifest registry share one database.
target_metadata = [Base.metadata, registry_metadata]

if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER most things
        compare_type=True,
    )


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("STILLGUARD_DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "no audit database given: pass -x url=... or set STILLGUARD_DATABASE_URL"
        )
    return url


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without a database (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection, given or opened here."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_audit_engine(_url())
    try:
        with engine.connect() as opened:
            _configure(opened)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
