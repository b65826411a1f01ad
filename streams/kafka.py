"""The distributed-mode stream backend: Kafka producers and consumer-group loops.

Delivery is at-least-once: an offset is committed only after the handler succeeded or the
record was safely parked on its dead-letter topic, so a worker that dies mid-message leaves
the record to whichever group member takes over its partition. Only standard Kafka features
are used (no broker-specific behaviour), so the same code runs against a production cluster.
"""

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer  # type: ignore[import-untyped]
from kafka.admin import KafkaAdminClient  # type: ignore[import-untyped]
from kafka.errors import (  # type: ignore[import-untyped]
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    TopicAlreadyExistsError,
)
from kafka.structs import OffsetAndMetadata, TopicPartition  # type: ignore[import-untyped]

from streams.backend import (
    DeadLetter,
    DeliveryInterrupted,
    Handler,
    StreamError,
    backoff_s,
    dead_letter_message,
    delivering,
    handle_with_retries,
)
from streams.messages import MAX_MESSAGE_BYTES, MessageError, decode_message, encode_message
from streams.topics import ALL_DEAD_LETTER_TOPICS, ALL_TOPICS, dead_letter_topic

log = logging.getLogger(__name__)

CONTENT_TYPE_HEADER = ("content-type", b"application/json")
DEAD_LETTER_ERROR_HEADER = "stillguard-dead-letter-error"
DEAD_LETTER_TOPIC_HEADER = "stillguard-dead-letter-topic"
UNKNOWN_JOB_ID = "unknown"
LAG_EVERY_S = 5.0


class KafkaBackend:
    """Publishes to and consumes from a Kafka cluster, with retries and dead-letter topics."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "stillguard",
        publish_timeout_s: float = 30.0,
        connect_timeout_s: float = 30.0,
        num_partitions: int = 3,
        replication_factor: int = -1,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._publish_timeout_s = publish_timeout_s
        self._connect_timeout_ms = int(connect_timeout_s * 1000)
        self._num_partitions = num_partitions
        self._replication_factor = replication_factor
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _admin(self) -> KafkaAdminClient:
        try:
            return KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id=f"{self.client_id}-admin",
                bootstrap_timeout_ms=self._connect_timeout_ms,
            )
        except KafkaError as exc:
            raise StreamError(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc

    def missing_topics(self, topics: Iterable[str] = ALL_TOPICS) -> list[str]:
        """Which of `topics` the cluster lacks (StreamError when it cannot be reached)."""
        admin = self._admin()
        try:
            existing = set(admin.list_topics())
        except KafkaError as exc:
            raise StreamError(f"cannot list topics on {self.bootstrap}: {exc}") from exc
        finally:
            admin.close()
        return [t for t in dict.fromkeys(topics) if t not in existing]

    def ensure_topics(self, topics: Iterable[str] = ALL_TOPICS + ALL_DEAD_LETTER_TOPICS) -> None:
        """Create whichever of `topics` do not exist yet; safe to call from every worker."""
        wanted = list(dict.fromkeys(topics))
        admin = self._admin()
        try:
            existing = set(admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if not missing:
                return
            spec = {
                t: {
                    "num_partitions": self._num_partitions,
                    "replication_factor": self._replication_factor,
                }
                for t in missing
            }
            # Another worker may create the same topic between list and create: not an error.
            result = admin.create_topics(spec, raise_errors=False)
            failures = [
                f"{t['name']}: {t['error_message'] or t['error_code']}"
                for t in result["topics"]
                if t["error_code"] not in (0, TopicAlreadyExistsError.errno)
            ]
            if failures:
                raise StreamError("could not create topics: " + "; ".join(failures))
            log.info("event=topics-created topics=%s", ",".join(missing))
        except KafkaError as exc:
            raise StreamError(f"could not create topics on {self.bootstrap}: {exc}") from exc
        finally:
            admin.close()

    def publish(
        self, topic: str, message: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a message keyed by its job id and wait until all in-sync replicas have it.

        `headers` (e.g. a W3C trace context) travel as Kafka record headers.
        """
        value = encode_message(message)  # validates first, so job_id is a non-empty string
        extra = [(name, text.encode()) for name, text in (headers or {}).items()]
        self._send(topic, message["job_id"], value, [CONTENT_TYPE_HEADER, *extra])

    def flush(self) -> None:
        """Wait for every message sent so far to be acknowledged."""
        if self._producer is not None:
            self._producer.flush(timeout=self._publish_timeout_s)

    def consume(
        self,
        topics: list[str],
        group_id: str,
        handler: Handler,
        *,
        stop: threading.Event,
        max_attempts: int = 3,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
        poll_timeout_ms: int = 500,
        retry_backoff_s: float = 0.2,
        max_retry_backoff_s: float = 5.0,
        max_poll_interval_ms: int = 600_000,
        on_lag: Callable[[int], None] | None = None,
    ) -> None:
        """Run `handler` on every record of `topics` as a member of `group_id` until `stop` is set.

        A record's offset is committed only after the handler succeeded; a failing handler is
        retried with exponential backoff, and after `max_attempts` the message goes to its
        dead-letter topic (with a `dead_letter` field and headers saying why), `on_dead_letter`
        is called, and only then is the offset committed. A record that cannot be decoded goes
        straight to the dead-letter topic. If parking a record fails, it is not committed and is
        delivered again.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                client_id=f"{self.client_id}-{group_id}",
                bootstrap_timeout_ms=self._connect_timeout_ms,
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                # Short sessions make failover take seconds, not tens of seconds.
                session_timeout_ms=2000,
                heartbeat_interval_ms=300,
                max_poll_interval_ms=max_poll_interval_ms,
                max_poll_records=1,
            )
        except KafkaError as exc:
            raise StreamError(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
        loop = _ConsumerLoop(
            backend=self,
            consumer=consumer,
            handler=handler,
            stop=stop,
            max_attempts=max_attempts,
            on_dead_letter=on_dead_letter,
            retry_backoff_s=retry_backoff_s,
            max_retry_backoff_s=max_retry_backoff_s,
        )
        try:
            consumer.subscribe(topics)
            log.info("event=consumer-started group=%s topics=%s", group_id, ",".join(topics))
            next_lag = 0.0
            while not stop.is_set():
                # One record per poll: the position never runs ahead of what was handled.
                for records in consumer.poll(timeout_ms=poll_timeout_ms, max_records=1).values():
                    for record in records:
                        loop.process(record)
                if on_lag is not None and time.monotonic() >= next_lag:
                    next_lag = time.monotonic() + LAG_EVERY_S
                    on_lag(_lag(consumer))
        finally:
            consumer.close(autocommit=False)
            log.info("event=consumer-stopped group=%s", group_id)

    def close(self) -> None:
        """Flush and close the producer; publishing afterwards is an error."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=self._publish_timeout_s)

    def _send(
        self, topic: str, job_id: str, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """Send one record and block until acknowledged, turning client errors into StreamError."""
        try:
            future = self._get_producer().send(
                topic, key=job_id.encode("utf-8"), value=value, headers=headers
            )
            future.get(timeout=self._publish_timeout_s)
        except KafkaError as exc:
            raise StreamError(f"could not publish to {topic} on {self.bootstrap}: {exc}") from exc

    def _get_producer(self) -> KafkaProducer:
        with self._lock:
            if self._closed:
                raise StreamError("the Kafka backend is closed")
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.bootstrap,
                        client_id=self.client_id,
                        bootstrap_timeout_ms=self._connect_timeout_ms,
                        acks="all",
                        enable_idempotence=True,
                        linger_ms=0,
                        max_block_ms=int(self._publish_timeout_s * 1000),
                        # Room for a maximal message plus the record framing around it.
                        max_request_size=MAX_MESSAGE_BYTES + 64 * 1024,
                    )
                except KafkaError as exc:
                    raise StreamError(f"cannot reach Kafka at {self.bootstrap}: {exc}") from exc
            return self._producer


class _ConsumerLoop:
    """Handles one record at a time for `KafkaBackend.consume`: decode, retry, park, commit."""

    def __init__(
        self,
        *,
        backend: KafkaBackend,
        consumer: KafkaConsumer,
        handler: Handler,
        stop: threading.Event,
        max_attempts: int,
        on_dead_letter: Callable[[DeadLetter], None] | None,
        retry_backoff_s: float,
        max_retry_backoff_s: float,
    ) -> None:
        self.backend = backend
        self.consumer = consumer
        self.handler = handler
        self.stop = stop
        self.max_attempts = max_attempts
        self.on_dead_letter = on_dead_letter
        self.retry_backoff_s = retry_backoff_s
        self.max_retry_backoff_s = max_retry_backoff_s
        self.park_failures = 0

    def process(self, record: Any) -> None:
        """Handle one record and commit it, or leave it uncommitted to be delivered again."""
        try:
            decode_message(record.value)
        except MessageError as exc:
            log.error(
                "event=undecodable topic=%s partition=%d offset=%d error=%r",
                record.topic,
                record.partition,
                record.offset,
                str(exc),
            )
            self._park(record, _undecodable_letter(record, exc), _raw_details(record.value))
            return
        try:
            with delivering(_text_headers(record)):
                dead = handle_with_retries(
                    self.handler,
                    record.topic,
                    record.value,
                    max_attempts=self.max_attempts,
                    pause=lambda attempt: self.stop.wait(self._backoff(attempt)),
                )
        except DeliveryInterrupted:
            self._redeliver(record)  # stopping: leave it to the next group member
            return
        if dead is None:
            self._commit(record)
            return
        self._park(record, dead, {})

    def _park(self, record: Any, dead: DeadLetter, details: dict[str, Any]) -> None:
        """Publish to the dead-letter topic, tell `on_dead_letter`, then commit."""
        dlq = dead_letter_topic(record.topic)
        try:
            value = encode_message(
                dead_letter_message(
                    dead, partition=record.partition, offset=record.offset, **details
                )
            )
            headers = [
                CONTENT_TYPE_HEADER,
                (DEAD_LETTER_ERROR_HEADER, dead.error.encode("utf-8")),
                (DEAD_LETTER_TOPIC_HEADER, record.topic.encode("utf-8")),
            ]
            self.backend._send(dlq, dead.message["job_id"], value, headers)
            if self.on_dead_letter is not None:
                self.on_dead_letter(dead)
        except Exception:  # whatever failed, the record must come back
            # Not parked means not committed: the record comes back after a pause.
            self.park_failures += 1
            log.exception(
                "event=dead-letter-failed topic=%s offset=%d dlq=%s",
                record.topic,
                record.offset,
                dlq,
            )
            self._redeliver(record)
            self.stop.wait(self._backoff(self.park_failures))
            return
        self.park_failures = 0
        log.error(
            "event=dead-lettered topic=%s job_id=%s attempts=%d dlq=%s",
            record.topic,
            dead.message["job_id"],
            dead.attempts,
            dlq,
        )
        self._commit(record)

    def _commit(self, record: Any) -> None:
        """Commit the offset after `record`; a lost partition means the new owner redoes it."""
        tp = _partition_of(record)
        try:
            self.consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "event=commit-failed topic=%s partition=%d offset=%d error=%r",
                record.topic,
                record.partition,
                record.offset,
                str(exc),
            )

    def _redeliver(self, record: Any) -> None:
        """Rewind to `record` so this consumer sees it again (if it still owns the partition)."""
        try:
            self.consumer.seek(_partition_of(record), record.offset)
        except (IllegalStateError, AssertionError):
            pass  # partition already reassigned: its new owner starts from the committed offset

    def _backoff(self, attempt: int) -> float:
        return backoff_s(attempt, first_s=self.retry_backoff_s, max_s=self.max_retry_backoff_s)


def _partition_of(record: Any) -> Any:
    return TopicPartition(record.topic, record.partition)


def _undecodable_letter(record: Any, exc: MessageError) -> DeadLetter:
    """A dead letter for bytes that are not a message: keyed by the record key if it has one."""
    job_id = UNKNOWN_JOB_ID
    if record.key:
        try:
            job_id = bytes(record.key).decode("utf-8") or UNKNOWN_JOB_ID
        except UnicodeDecodeError:
            pass
    return DeadLetter(
        topic=record.topic,
        message={"job_id": job_id},
        error=f"undecodable: {exc}",
        attempts=0,
    )


def _raw_details(raw: bytes | None) -> dict[str, Any]:
    """The original bytes of an undecodable record, kept whole when they fit in a message."""
    raw = bytes(raw or b"")
    details: dict[str, Any] = {
        "raw_size": len(raw),
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
    }
    if len(raw) * 4 // 3 + 4096 < MAX_MESSAGE_BYTES:
        details["raw_base64"] = base64.b64encode(raw).decode("ascii")
    return details


def _text_headers(record: Any) -> dict[str, str]:
    """A record's headers that are text (trace context and the like); others are left out."""
    headers: dict[str, str] = {}
    for name, raw in record.headers or []:
        try:
            headers[name] = raw.decode("utf-8")
        except (AttributeError, UnicodeDecodeError):
            continue
    return headers


def _lag(consumer: Any) -> int:
    """How many records on the consumer's partitions it has not reached yet."""
    assigned = list(consumer.assignment())
    if not assigned:
        return 0
    try:
        ends = consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - consumer.position(tp)) for tp in assigned)
    except KafkaError:
        return 0
