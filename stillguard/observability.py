"""Logs, traces and their link: one trace per job across topics, logs carrying job, trace and
request ids.

Tracing is off unless STILLGUARD_OTLP_ENDPOINT names an OTLP/HTTP collector (then spans are
exported in batches). Either way a job's trace context travels with its messages (outbox row
headers, then Kafka record headers), so when it is on, every stage of a job joins one trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context, propagate, trace

from streams.backend import DELIVERY_HEADERS

from .settings import Settings

JOB_ID: ContextVar[str | None] = ContextVar("stillguard_job_id", default=None)
# The HTTP request being answered (set by api.middleware.RequestIds); errors carry it too.
REQUEST_ID: ContextVar[str | None] = ContextVar("stillguard_request_id", default=None)
TRACER_NAME = "stillguard"


def configure(settings: Settings, service: str) -> None:
    """Set up logging (key=value, or JSON) and, when an endpoint is set, OTLP trace export."""
    handler = logging.StreamHandler()
    handler.addFilter(_JobContext())
    handler.setFormatter(
        _JsonFormatter()
        if settings.log_format == "json"
        else logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s job_id=%(job_id)s request_id=%(request_id)s "
            "%(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otlp_endpoint)))
        trace.set_tracer_provider(provider)


def trace_headers() -> dict[str, str]:
    """The current trace context as message headers (W3C traceparent), to send on."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def job_span(name: str, job_id: str, parent: Mapping[str, str] | None = None) -> Iterator[None]:
    """A span for work on one job, child of the trace its message carried (or of `parent`)."""
    carried = propagate.extract(
        dict(parent if parent is not None else (DELIVERY_HEADERS.get() or {}))
    )
    token = context.attach(carried)
    job_token = JOB_ID.set(job_id)
    try:
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(name, attributes={"stillguard.job_id": job_id}):
            yield
    finally:
        JOB_ID.reset(job_token)
        context.detach(token)


class _JobContext(logging.Filter):
    """Adds the job, request and trace ids in hand to every record (a record's own wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = JOB_ID.get() or "-"
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get() or "-"
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else "-"
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, job_id, request_id, trace_id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", "-"),
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)
