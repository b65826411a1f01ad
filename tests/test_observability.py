"""One trace per job across every stage, and logs that carry the job and trace ids."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stillguard.container import open_store
from stillguard.observability import configure
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def test_every_stage_of_a_job_joins_the_trace_its_submission_started(
    tmp_path: Path, spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, STILLGUARD_LOG_FORMAT="json")
    configure(settings, "stillguard-test")
    store = open_store(settings)
    request = JobRequest(SAMPLE_PHOTO.read_bytes(), "clouds drifting", SMALL_CLIP, "cli")
    job = LocalRunner(settings, store).run(request, None).job
    assert job.status == "published"
    mine = [s for s in spans.get_finished_spans() if s.attributes["stillguard.job_id"] == job.id]
    names = {s.name for s in mine}
    assert names == {"job.submitted", "input-gate", "generator", "output-gate", "provenance"}
    assert len({s.context.trace_id for s in mine}) == 1, "one trace per job"
    root = next(s for s in mine if s.name == "job.submitted")
    assert all(s.parent is not None for s in mine if s is not root)
    logging.getLogger("stillguard.pipeline").warning("a line about the job")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "a line about the job" and "trace_id" in line and "job_id" in line
    logging.getLogger().handlers.clear()
