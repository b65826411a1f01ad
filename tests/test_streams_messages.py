"""The stream message format: what is accepted, what is refused, and why."""

import json

import pytest

from streams.messages import (
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    MessageError,
    decode_message,
    encode_message,
)
from streams.topics import ALL_TOPICS, dead_letter_topic


def test_round_trip_stamps_schema_version_and_keeps_fields():
    message = {"job_id": "job-1", "photo": {"blob": "sha256:abc"}, "prompt": "sea at dusk é"}
    decoded = decode_message(encode_message(message))
    assert decoded == {**message, "schema_version": SCHEMA_VERSION}
    assert "schema_version" not in message  # the caller's dict is not modified


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"prompt": "x"}, "no job_id"),
        ({"job_id": ""}, "job_id must be a non-empty string"),
        ({"job_id": 7}, "job_id must be a non-empty string"),
        ({"job_id": "j", "schema_version": 2}, "schema_version 2"),
        ({"job_id": "j", "frames": b"\x00"}, "not JSON-serialisable"),
        ({"job_id": "j", "score": float("nan")}, "not JSON-serialisable"),
        (["job_id"], "must be a dict"),
    ],
)
def test_encode_refuses_invalid_messages_with_the_reason(message, reason):
    with pytest.raises(MessageError, match=reason):
        encode_message(message)


def test_encode_refuses_blobs_over_one_mebibyte_and_points_at_the_blob_store():
    with pytest.raises(MessageError, match="blob store"):
        encode_message({"job_id": "j", "photo": "x" * MAX_MESSAGE_BYTES})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"job_id": "j"}', "no schema_version"),
        (b'{"job_id": "j", "schema_version": "1"}', "must be an integer"),
        (b'{"job_id": "j", "schema_version": true}', "must be an integer"),
        (b'{"job_id": "j", "schema_version": 99}', "newer than"),
        (b'{"schema_version": 1}', "no job_id"),
        (b'{"schema_version": 1, "job_id": null}', "job_id must be a non-empty string"),
        ("text", "bytes expected"),
    ],
)
def test_decode_refuses_malformed_bytes_with_the_reason(raw, reason):
    with pytest.raises(MessageError, match=reason):
        decode_message(raw)


def test_message_error_is_a_value_error():
    assert issubclass(MessageError, ValueError)


def test_every_topic_has_a_dead_letter_topic_next_to_it():
    assert len(set(ALL_TOPICS)) == 6
    assert dead_letter_topic("stillguard.jobs.submitted") == "stillguard.jobs.submitted.dlq"
    assert all(t.startswith("stillguard.") for t in ALL_TOPICS)
    assert json.loads(encode_message({"job_id": "j"}))["schema_version"] == 1
