"""Fixtures for tests of the services against each audit database: `settings` and `deps`.

`settings` is a throwaway HOME on `audit_url` (SQLite and PostgreSQL, see `postgres`); `deps`
the stage dependencies built on it, closed after the test. A test module defining its own
`settings` uses that one instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stillguard.container import StageDeps, build_deps, open_store
from stillguard.settings import Settings
from tests.support.journey import settings_for


@pytest.fixture
def settings(audit_url: str, tmp_path: Path) -> Settings:
    """Settings rooted in tmp_path, on the audit database under test."""
    return settings_for(tmp_path / "home", STILLGUARD_DATABASE_URL=audit_url)


@pytest.fixture
def deps(settings: Settings) -> Iterator[StageDeps]:
    """Stage dependencies on `settings`, as a worker builds them."""
    deps = build_deps(settings, open_store(settings))
    yield deps
    deps.store.close()
