"""Alembic migrations of the audit database (SQLite and PostgreSQL); run via `AuditStore.migrate`."""
