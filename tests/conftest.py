"""Shared pytest fixtures: real brokers and databases, started by the tests themselves."""

pytest_plugins = [
    "tests.support.cli_home",
    "tests.support.kafka_broker",
    "tests.support.postgres",
    "tests.support.s3_server",
    "tests.support.signed_media",
    "tests.support.stage_deps",
]
