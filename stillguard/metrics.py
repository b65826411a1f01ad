"""Prometheus metrics: how long each stage takes, how jobs end, and how the API answers."""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

REGISTRY = CollectorRegistry()
Metric = TypeVar("Metric", Counter, Gauge, Histogram)


def _metric(
    kind: type[Metric], name: str, documentation: str, *labels: str, **options: Any
) -> Metric:
    """A metric on Stillguard's own registry, so /metrics shows ours and nothing else."""
    return kind(name, documentation, labels, registry=REGISTRY, **options)


STAGE_SECONDS = _metric(
    Histogram,
    "stillguard_stage_seconds",
    "Time one stage spent on one message",
    "stage",
    "outcome",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
JOBS_ENDED = _metric(Counter, "stillguard_jobs_ended_total", "Jobs that ended, by status", "status")
HTTP_REQUESTS = _metric(
    Counter,
    "stillguard_http_requests_total",
    "HTTP requests by route and status code",
    "route",
    "code",
)
IN_FLIGHT = _metric(Gauge, "stillguard_stage_in_flight", "Jobs a stage is working on now", "stage")
OUTBOX_PENDING = _metric(
    Gauge, "stillguard_outbox_pending", "Messages waiting in the outbox (the relay's lag)"
)
DEAD_LETTERS = _metric(
    Counter, "stillguard_dead_letters_total", "Messages given up on, by topic", "topic"
)
RECOVERED = _metric(
    Counter,
    "stillguard_jobs_recovered_total",
    "Jobs handed on again after their worker stopped or they stalled",
)
QUOTA_REFUSALS = _metric(
    Counter,
    "stillguard_quota_refusals_total",
    "Submissions answered 429 because the key's quota was spent, by window",
    "window",
)
CONSUMER_LAG = _metric(
    Gauge,
    "stillguard_consumer_lag",
    "Messages on a worker's topic not yet handled by its group",
    "stage",
)


def exposition() -> bytes:
    """The Prometheus text format of every Stillguard metric."""
    return generate_latest(REGISTRY)


def serve_metrics(port: int) -> None:
    """Serve /metrics on its own port (each worker process has one)."""
    start_http_server(port, addr="0.0.0.0", registry=REGISTRY)
