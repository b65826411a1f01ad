"""The Kafka backend against a real broker: round trip, retries, dead letters, failover."""

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from streams.backend import DeadLetter, StreamError
from streams.kafka import DEAD_LETTER_ERROR_HEADER, KafkaBackend
from streams.messages import MessageError, decode_message
from streams.topics import dead_letter_topic

WAIT_S = 15.0


@pytest.fixture
def backend(kafka_bootstrap: str) -> Iterator[KafkaBackend]:
    backend = KafkaBackend(kafka_bootstrap, client_id="stillguard-test")
    yield backend
    backend.close()


@pytest.fixture
def topic(backend: KafkaBackend, unique_kafka_name: str) -> str:
    name = f"{unique_kafka_name}.jobs"
    backend.ensure_topics([name, dead_letter_topic(name)])
    return name


class Worker:
    """`KafkaBackend.consume` on a thread, with the handled messages recorded."""

    running: ClassVar[list["Worker"]] = []

    def __init__(self, backend: KafkaBackend, topic: str, group: str, **options) -> None:
        self.stop = threading.Event()
        self.handled: list[str] = []
        self.dead: list[DeadLetter] = []
        self.failure: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(backend, topic, group, options), daemon=True
        )

    def _run(self, backend: KafkaBackend, topic: str, group: str, options: dict) -> None:
        try:
            backend.consume(
                [topic],
                group,
                self.handle,
                stop=self.stop,
                on_dead_letter=self.dead.append,
                retry_backoff_s=0.05,
                **options,
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test by finish()
            self.failure = exc

    def handle(self, topic: str, message: dict) -> None:
        self.handled.append(message["job_id"])

    def start(self) -> "Worker":
        Worker.running.append(self)
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT_S)
        assert not self.thread.is_alive(), "consumer did not stop"
        assert self.failure is None, self.failure


@pytest.fixture(autouse=True)
def stop_workers_left_running() -> Iterator[None]:
    """A failed test must not leave consumers behind to disturb the next one or the broker."""
    yield
    while Worker.running:
        worker = Worker.running.pop()
        worker.stop.set()
        worker.thread.join(timeout=WAIT_S)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets over the topic's partitions."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition_index"]) for p in described["partitions"]]
        offsets = admin.list_group_offsets({group: partitions})[group]
    finally:
        admin.close()
    return sum(max(o.offset, 0) for o in offsets.values())


def read_topic(bootstrap: str, topic: str, count: int) -> list:
    """The first `count` records of a topic, read by a fresh consumer group."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    records: list = []
    try:
        deadline = time.monotonic() + WAIT_S
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        consumer.close(autocommit=False)
    return records


def test_ensure_topics_is_idempotent(backend: KafkaBackend, kafka_bootstrap: str, topic: str):
    backend.ensure_topics([topic, dead_letter_topic(topic)])
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert {topic, dead_letter_topic(topic)} <= set(admin.list_topics())
    finally:
        admin.close()


def test_published_messages_are_keyed_by_job_and_consumed_once_then_committed(
    backend: KafkaBackend, kafka_bootstrap: str, topic: str
):
    jobs = [f"job-{i}" for i in range(6)]
    for job in jobs:
        backend.publish(topic, {"job_id": job, "photo": f"blob:{job}"})
    worker = Worker(backend, topic, f"{topic}-group").start()
    wait_for(lambda: len(worker.handled) >= len(jobs), "all messages")
    worker.finish()

    assert sorted(worker.handled) == jobs
    assert committed_total(kafka_bootstrap, f"{topic}-group", topic) == len(jobs)
    record = read_topic(kafka_bootstrap, topic, 1)[0]
    assert record.key.decode() == decode_message(record.value)["job_id"]
    assert decode_message(record.value)["schema_version"] == 1


def test_publish_refuses_invalid_messages_before_reaching_the_broker(backend, topic):
    with pytest.raises(MessageError, match="no job_id"):
        backend.publish(topic, {"photo": "blob:1"})


def test_a_handler_failing_twice_then_succeeding_is_handled_once_and_not_dead_lettered(
    backend: KafkaBackend, kafka_bootstrap: str, topic: str
):
    attempts: list[str] = []

    class Flaky(Worker):
        def handle(self, topic: str, message: dict) -> None:
            attempts.append(message["job_id"])
            if len(attempts) <= 2:
                raise ConnectionError("generator busy")
            super().handle(topic, message)

    backend.publish(topic, {"job_id": "flaky"})
    worker = Flaky(backend, topic, f"{topic}-group", max_attempts=3).start()
    wait_for(lambda: worker.handled, "the third attempt")
    wait_for(lambda: committed_total(kafka_bootstrap, f"{topic}-group", topic) == 1, "commit")
    worker.finish()

    assert attempts == ["flaky"] * 3
    assert worker.handled == ["flaky"]
    assert worker.dead == []


def test_poison_messages_land_on_the_dead_letter_topic_with_the_error_and_do_not_block(
    backend: KafkaBackend, kafka_bootstrap: str, topic: str
):
    raw = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    raw.send(topic, key=b"garbled", value=b"\x00not json").get(timeout=WAIT_S)
    raw.close()
    backend.publish(topic, {"job_id": "always-fails"})
    backend.publish(topic, {"job_id": "fine"})

    class Picky(Worker):
        def handle(self, topic: str, message: dict) -> None:
            if message["job_id"] == "always-fails":
                raise RuntimeError("classifier crashed")
            super().handle(topic, message)

    worker = Picky(backend, topic, f"{topic}-group", max_attempts=2).start()
    wait_for(lambda: "fine" in worker.handled and len(worker.dead) == 2, "both dead letters")
    wait_for(lambda: committed_total(kafka_bootstrap, f"{topic}-group", topic) == 3, "commits")
    worker.finish()

    parked = {
        decode_message(r.value)["job_id"]: r
        for r in read_topic(kafka_bootstrap, dead_letter_topic(topic), 2)
    }
    assert set(parked) == {"garbled", "always-fails"}

    failed = decode_message(parked["always-fails"].value)["dead_letter"]
    assert failed["error"] == "RuntimeError: classifier crashed"
    assert (failed["topic"], failed["attempts"]) == (topic, 2)
    assert dict(parked["always-fails"].headers)[DEAD_LETTER_ERROR_HEADER] == (
        b"RuntimeError: classifier crashed"
    )

    garbled = decode_message(parked["garbled"].value)["dead_letter"]
    assert (
        garbled["error"].startswith("undecodable: message is not UTF-8")
        or "JSON" in (garbled["error"])
    )
    assert garbled["attempts"] == 0
    assert garbled["raw_base64"] == "AG5vdCBqc29u"  # the original bytes, kept whole
    assert {d.message["job_id"] for d in worker.dead} == {"garbled", "always-fails"}


def test_a_second_consumer_takes_over_from_the_committed_offsets_when_the_first_stops(
    backend: KafkaBackend, kafka_bootstrap: str, topic: str
):
    jobs = [f"job-{i:02d}" for i in range(12)]
    for job in jobs:
        backend.publish(topic, {"job_id": job})
    group = f"{topic}-group"

    class CrashesOnFifth(Worker):
        """Handles four messages, then dies in the middle of the fifth."""

        def handle(self, topic: str, message: dict) -> None:
            if len(self.handled) == 4:
                self.crashed_on = message["job_id"]
                self.stop.set()
                raise RuntimeError("worker killed mid-message")
            super().handle(topic, message)

    first = CrashesOnFifth(backend, topic, group).start()
    wait_for(lambda: first.stop.is_set(), "the first worker to stop")
    first.finish()
    assert len(first.handled) == 4
    assert committed_total(kafka_bootstrap, group, topic) == 4

    second = Worker(backend, topic, group).start()
    wait_for(lambda: len(first.handled) + len(second.handled) >= len(jobs), "the rest")
    wait_for(lambda: committed_total(kafka_bootstrap, group, topic) == len(jobs), "commits")
    second.finish()

    assert first.crashed_on in second.handled  # the interrupted message is redone
    assert not set(first.handled) & set(second.handled)  # committed work is not
    assert sorted(first.handled + second.handled) == jobs  # and nothing is lost
    assert first.dead == second.dead == []


def test_json_on_the_wire_is_plain_and_readable(kafka_bootstrap: str, backend, topic):
    backend.publish(topic, {"job_id": "j", "prompt": "waves"})
    record = read_topic(kafka_bootstrap, topic, 1)[0]
    assert json.loads(record.value) == {"job_id": "j", "prompt": "waves", "schema_version": 1}
    assert dict(record.headers)["content-type"] == b"application/json"


def test_when_one_of_two_live_consumers_leaves_the_other_gets_its_partitions(
    backend: KafkaBackend, kafka_bootstrap: str, topic: str
):
    group = f"{topic}-group"
    before = [f"before-{i:02d}" for i in range(9)]
    after = [f"after-{i:02d}" for i in range(9)]
    for job in before:
        backend.publish(topic, {"job_id": job})
    first = Worker(backend, topic, group).start()
    second = Worker(backend, topic, group).start()
    wait_for(lambda: set(first.handled) | set(second.handled) >= set(before), "the first batch")
    first.finish()

    for job in after:  # spread over every partition, including those the first worker had
        backend.publish(topic, {"job_id": job})
    wait_for(lambda: set(second.handled) >= set(after), "the survivor to take every partition")
    second.finish()

    # At-least-once: a rebalance may redo a message whose commit it interrupted, never lose one.
    assert set(first.handled) | set(second.handled) == set(before) | set(after)


def test_an_unreachable_broker_is_a_stream_error_not_a_hang():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        bootstrap = f"127.0.0.1:{sock.getsockname()[1]}"
    backend = KafkaBackend(bootstrap, publish_timeout_s=1, connect_timeout_s=0.5)
    with pytest.raises(StreamError, match="cannot reach Kafka"):
        backend.publish("stillguard.jobs.submitted", {"job_id": "j"})
    with pytest.raises(StreamError, match="cannot reach Kafka"):
        backend.ensure_topics(["stillguard.jobs.submitted"])
    with pytest.raises(StreamError, match="cannot reach Kafka"):
        backend.consume(["t"], "g", lambda t, m: None, stop=threading.Event())
    backend.close()
