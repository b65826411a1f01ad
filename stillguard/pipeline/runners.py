"""Runs the stages on a stream backend: in-process for `run`/`serve`, Kafka for workers."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from generation import GenerationOptionError, MediaError
from generation.diffusion import DiffusionUnavailable
from safety.photo_intake import BadImageError
from streams.backend import DeadLetter
from streams.inprocess import InProcessBackend
from streams.messages import MessageError, parse_message

from ..container import StageDeps
from ..metrics import STAGE_SECONDS
from .records import StageError, fail_job
from .stages import STAGES, stage_for_topic

log = logging.getLogger("stillguard.pipeline")

# Errors that a retry cannot fix: the job fails at once with the reason instead of being retried.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    DiffusionUnavailable,
    StageError,
    BadImageError,
    GenerationOptionError,
    MediaError,
    MessageError,
)

StageFn = Callable[[Any, StageDeps], None]


def guarded(stage: str, fn: StageFn, deps: StageDeps) -> Callable[[str, dict[str, Any]], None]:
    """A backend handler for one stage: the message is typed first; permanent errors fail the
    job, others are retried."""

    def handle(topic: str, message: dict[str, Any]) -> None:
        started = time.perf_counter()
        outcome = "ok"
        try:
            fn(parse_message(topic, message), deps)
        except PERMANENT_ERRORS as exc:
            outcome = "failed"
            log.warning("stage=%s job=%s failed: %s", stage, message.get("job_id"), exc)
            fail_job(deps, message["job_id"], stage, f"{stage}: {exc}")
        except Exception:
            outcome = "retry"
            raise
        finally:
            STAGE_SECONDS.labels(stage=stage, outcome=outcome).observe(
                time.perf_counter() - started
            )

    return handle


def dead_letter_handler(deps: StageDeps) -> Callable[[DeadLetter], None]:
    """When a message keeps failing, the job ends `failed` with the last error, audited."""

    def on_dead_letter(dead: DeadLetter) -> None:
        job_id = dead.message.get("job_id")
        stage = stage_for_topic(dead.topic)
        if job_id:
            fail_job(
                deps, job_id, stage, f"{stage} gave up after {dead.attempts} attempts: {dead.error}"
            )

    return on_dead_letter


class InProcessPipeline:
    """All stages in this process on the in-process backend.

    Other threads hand messages in through `publish` (a thread-safe inbox); only the thread that
    calls `drain` touches the backend, so a long job never blocks a new submission.
    """

    def __init__(
        self, deps_factory: Callable[[Callable[[str, dict[str, Any]], None]], StageDeps]
    ) -> None:
        self._inbox: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
        self.backend = InProcessBackend(max_attempts=3, on_dead_letter=self._on_dead_letter)
        self.deps = deps_factory(self.backend.publish)
        for stage in STAGES.values():
            self.backend.subscribe(stage.topic, guarded(stage.name, stage.run, self.deps))

    def _on_dead_letter(self, dead: DeadLetter) -> None:
        dead_letter_handler(self.deps)(dead)

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Queue a message (e.g. a submitted job) from any thread; `drain` delivers it."""
        self._inbox.put((topic, message))

    def drain(self) -> int:
        """Run every queued message through the stages until nothing is left."""
        delivered = 0
        while True:
            while not self._inbox.empty():
                self.backend.publish(*self._inbox.get())
            if self.backend.pending() == 0:
                return delivered
            delivered += self.backend.run_until_idle()


class BackgroundRunner:
    """Drains an in-process pipeline on a worker thread so the HTTP API answers at once."""

    def __init__(self, pipeline: InProcessPipeline) -> None:
        self.pipeline = pipeline
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stillguard-pipeline", daemon=True)
        self._thread.start()

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self.pipeline.publish(topic, message)
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:
                self.pipeline.drain()
            except Exception:  # a bug in a stage must not kill the API's only worker
                log.exception("in-process pipeline drain failed")
                time.sleep(0.5)
            if stopping:
                return

    def close(self, timeout_s: float = 300.0) -> None:
        """Finish the jobs already accepted, then stop.

        The in-process queue is not durable, so shutting down mid-queue would strand accepted
        jobs; and a thread killed inside native model code at interpreter exit aborts the process.
        """
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            log.error("in-process pipeline still busy after %.0f s; exiting anyway", timeout_s)
