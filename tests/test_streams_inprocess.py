"""The embedded-mode backend: FIFO delivery, retries and dead letters, all in one thread."""

import pytest

from streams.backend import DeadLetter, StreamError
from streams.inprocess import InProcessBackend
from streams.messages import MessageError
from streams.topics import JOBS_INPUT_CLEARED, JOBS_SUBMITTED, dead_letter_topic


def test_messages_are_delivered_in_publication_order_including_those_published_by_handlers():
    backend = InProcessBackend()
    seen: list[tuple[str, str]] = []

    def input_gate(topic, message):
        seen.append((topic, message["job_id"]))
        backend.publish(JOBS_INPUT_CLEARED, {"job_id": message["job_id"]})

    backend.subscribe(JOBS_SUBMITTED, input_gate)
    backend.subscribe(JOBS_INPUT_CLEARED, lambda t, m: seen.append((t, m["job_id"])))
    backend.publish(JOBS_SUBMITTED, {"job_id": "a"})
    backend.publish(JOBS_SUBMITTED, {"job_id": "b"})

    assert seen == []  # nothing happens before run_until_idle
    assert backend.run_until_idle() == 4
    assert seen == [
        (JOBS_SUBMITTED, "a"),
        (JOBS_SUBMITTED, "b"),
        (JOBS_INPUT_CLEARED, "a"),
        (JOBS_INPUT_CLEARED, "b"),
    ]
    assert backend.run_until_idle() == 0


def test_each_delivery_gets_its_own_copy_of_the_message():
    backend = InProcessBackend()
    copies = []

    def mutate(topic, message):
        copies.append(dict(message))
        message["job_id"] = "changed"

    backend.subscribe(JOBS_SUBMITTED, mutate)
    backend.subscribe(JOBS_SUBMITTED, lambda t, m: copies.append(dict(m)))
    backend.publish(JOBS_SUBMITTED, {"job_id": "j"})
    backend.run_until_idle()
    assert [c["job_id"] for c in copies] == ["j", "j"]


def test_a_handler_that_fails_twice_then_succeeds_is_retried_and_not_dead_lettered():
    dead: list[DeadLetter] = []
    backend = InProcessBackend(max_attempts=3, on_dead_letter=dead.append)
    attempts = []

    def flaky(topic, message):
        attempts.append(message["job_id"])
        if len(attempts) < 3:
            raise RuntimeError("transient")

    backend.subscribe(JOBS_SUBMITTED, flaky)
    backend.publish(JOBS_SUBMITTED, {"job_id": "j"})
    assert backend.run_until_idle() == 1
    assert attempts == ["j", "j", "j"]
    assert dead == []


def test_a_message_that_keeps_failing_goes_to_the_dead_letter_topic_with_the_error():
    dead: list[DeadLetter] = []
    backend = InProcessBackend(max_attempts=2, on_dead_letter=dead.append)
    parked = []
    calls = []

    def broken(topic, message):
        calls.append(message["job_id"])
        raise ValueError("model file missing")

    backend.subscribe(JOBS_SUBMITTED, broken)
    backend.subscribe(dead_letter_topic(JOBS_SUBMITTED), lambda t, m: parked.append(m))
    backend.publish(JOBS_SUBMITTED, {"job_id": "j", "photo": "blob:1"})
    backend.publish(JOBS_SUBMITTED, {"job_id": "k"})
    backend.run_until_idle()

    assert calls == ["j", "j", "k", "k"]
    assert dead[0] == DeadLetter(
        topic=JOBS_SUBMITTED,
        message={"job_id": "j", "photo": "blob:1", "schema_version": 1},
        error="ValueError: model file missing",
        attempts=2,
    )
    assert [m["job_id"] for m in parked] == ["j", "k"]
    assert parked[0]["photo"] == "blob:1"
    assert parked[0]["dead_letter"] == {
        "error": "ValueError: model file missing",
        "topic": JOBS_SUBMITTED,
        "attempts": 2,
    }


def test_invalid_messages_are_refused_at_publish_time():
    backend = InProcessBackend()
    with pytest.raises(MessageError, match="no job_id"):
        backend.publish(JOBS_SUBMITTED, {"photo": "blob:1"})
    assert backend.pending() == 0


def test_messages_on_topics_nobody_subscribes_to_are_not_counted_as_delivered():
    backend = InProcessBackend()
    backend.publish(JOBS_SUBMITTED, {"job_id": "j"})
    assert backend.run_until_idle() == 0


def test_a_closed_backend_refuses_to_publish():
    backend = InProcessBackend()
    backend.close()
    with pytest.raises(StreamError, match="closed"):
        backend.publish(JOBS_SUBMITTED, {"job_id": "j"})


def test_run_until_idle_cannot_be_reentered_from_a_handler():
    dead: list[DeadLetter] = []
    backend = InProcessBackend(max_attempts=1, on_dead_letter=dead.append)
    backend.subscribe(JOBS_SUBMITTED, lambda t, m: backend.run_until_idle())
    backend.publish(JOBS_SUBMITTED, {"job_id": "j"})
    backend.run_until_idle()
    assert "called from inside a handler" in dead[0].error
