"""Shared pytest fixtures: real brokers and databases, started by the tests themselves."""

import os
import shutil
import tempfile

import pytest

pytest_plugins = [
    "tests.support.cli_home",
    "tests.support.kafka_broker",
    "tests.support.postgres",
    "tests.support.prompt_policy",
    "tests.support.s3_server",
    "tests.support.signed_media",
    "tests.support.stage_deps",
]


def pytest_configure(config: pytest.Config) -> None:
    """One embeddings cache for the whole run (safety.embedding_cache), shared by the processes
    the tests start and never a previous run's: the first prompt classifier embeds, the rest
    read."""
    folder = tempfile.mkdtemp(prefix="stillguard-test-cache-")
    config.stash[_CACHE] = folder
    os.environ["STILLGUARD_CACHE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_CACHE, ""), ignore_errors=True)


_CACHE = pytest.StashKey[str]()
