"""Prometheus metrics: how long each stage takes, how jobs end, and how the API answers."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

REGISTRY = CollectorRegistry()
STAGE_SECONDS = Histogram(
    "stillguard_stage_seconds",
    "Time one stage spent on one message",
    ["stage", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
JOBS_ENDED = Counter(
    "stillguard_jobs_ended_total", "Jobs that ended, by status", ["status"], registry=REGISTRY
)
HTTP_REQUESTS = Counter(
    "stillguard_http_requests_total",
    "HTTP requests by route and status code",
    ["route", "code"],
    registry=REGISTRY,
)


IN_FLIGHT = Gauge(
    "stillguard_stage_in_flight", "Jobs a stage is working on now", ["stage"], registry=REGISTRY
)
OUTBOX_PENDING = Gauge(
    "stillguard_outbox_pending",
    "Messages waiting in the outbox (the relay's lag)",
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "stillguard_dead_letters_total", "Messages given up on, by topic", ["topic"], registry=REGISTRY
)
RECOVERED = Counter(
    "stillguard_jobs_recovered_total",
    "Jobs handed on again after their worker stopped or they stalled",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "stillguard_consumer_lag",
    "Messages on a worker's topic not yet handled by its group",
    ["stage"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The Prometheus text format of every Stillguard metric."""
    return generate_latest(REGISTRY)


def serve_metrics(port: int) -> None:
    """Serve /metrics on its own port (each worker process has one)."""
    start_http_server(port, addr="0.0.0.0", registry=REGISTRY)
