"""A pytest plugin: the `cli_home` fixture, an embedded home that `stillguard` commands run in."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME for `main([...])` calls: embedded SQLite, no Kafka, the tests' passphrase
    (settings_for(home) opens the same store and authority)."""
    home = tmp_path / "home"
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("STILLGUARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("STILLGUARD_KAFKA_BOOTSTRAP", raising=False)
    return home
