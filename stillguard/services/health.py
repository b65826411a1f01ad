"""What an installation needs in order to work: the audit store, the blob store, the keys, Kafka.

`/readyz` and `stillguard doctor` both ask here, so a rule about what "ready" means lives once.
Problems are short sentences without paths or secrets (`/readyz` answers anyone on the
operator's network); the causes go to the log.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from provenance.errors import ProvenanceError
from streams.backend import StreamError

from ..blobs import BlobUnavailable
from ..container import StageDeps
from ..settings import SettingsError

log = logging.getLogger("stillguard.health")


def readiness_problems(deps: StageDeps) -> dict[str, str]:
    """What stops this process from doing its job, by part (empty when ready)."""
    problems = {}
    try:
        deps.store.get_job("0" * 32)
    except SQLAlchemyError:
        log.exception("readiness: the audit store does not answer")
        problems["audit_store"] = "the audit store does not answer"
    try:
        deps.authority.trust_anchors()
    except (ProvenanceError, SettingsError, OSError):
        log.exception("readiness: the signing keys cannot be opened")
        problems["authority"] = "the signing keys cannot be opened"
    try:
        deps.blobs.ping()
    except BlobUnavailable:
        log.exception("readiness: the blob store does not answer")
        problems["blob_store"] = "the blob store does not answer"
    return problems


def kafka_problem(bootstrap: str | None) -> str | None:
    """Why the configured Kafka cluster cannot carry the stages' topics, or None (also when
    none is configured: the in-process backend needs nothing)."""
    if not bootstrap:
        return None
    from streams.kafka import KafkaBackend  # kafka-python, only when a cluster is configured

    try:
        missing = KafkaBackend(bootstrap, connect_timeout_s=5.0).missing_topics()
    except StreamError:
        log.exception("doctor: Kafka does not answer")
        return "Kafka does not answer"
    if missing:
        return f"{len(missing)} topics missing (a worker creates them at start): {missing[0]}, ..."
    return None
