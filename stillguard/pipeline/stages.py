"""The stage registry: each stage's name, the topic it consumes and its function.

Stages are plain functions of (typed message, dependencies). The same functions run in-process
for `stillguard run`/`serve` and behind Kafka consumers for `stillguard worker`. Each records its
decision or result in the audit store before it emits the next message, so nothing moves on
without a record (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams import topics

from ..container import StageDeps
from .generator import generator
from .input_gate import input_gate
from .output_gate import output_gate
from .signing import sign_and_publish


@dataclass(frozen=True)
class Stage:
    """One step of the journey: its name (as `stillguard worker NAME`), topic and function."""

    name: str
    topic: str
    run: Callable[[Any, StageDeps], None]


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("input-gate", topics.JOBS_SUBMITTED, input_gate),
        Stage("generator", topics.JOBS_INPUT_CLEARED, generator),
        Stage("output-gate", topics.VIDEOS_GENERATED, output_gate),
        Stage("provenance", topics.VIDEOS_CLEARED, sign_and_publish),
    )
}
AUDIT_WRITER = "audit-writer"
RELAY = "relay"
WORKER_STAGES: tuple[str, ...] = (*STAGES, AUDIT_WRITER, RELAY)


def stage_for_topic(topic: str) -> str:
    """The name of the stage that consumes `topic` (or its dead letters); "stream" if none."""
    base = topic.removesuffix(topics.DEAD_LETTER_SUFFIX)
    return next((s.name for s in STAGES.values() if s.topic == base), "stream")
