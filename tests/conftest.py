"""Shared pytest fixtures: real brokers and databases, started by the tests themselves."""

pytest_plugins = ["tests.kafka_broker", "tests.pg_database", "tests.s3_server"]
