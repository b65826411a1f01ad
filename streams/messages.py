"""The wire format of every stream message: a JSON object with a schema version and a job id.

Both backends encode and decode through this module, so a message the in-process backend
accepts is exactly one Kafka accepts. Blobs (photos, clips) never travel inside a message:
messages carry blob references (claim check), and anything over `MAX_MESSAGE_BYTES` is refused.
"""

import json
from typing import Any

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 1024 * 1024


class MessageError(ValueError):
    """A message that cannot be put on, or taken off, a stream; the text says why."""


def encode_message(message: dict[str, Any]) -> bytes:
    """Serialise a message to JSON bytes, stamping `schema_version`; refuse invalid or huge ones."""
    if not isinstance(message, dict):
        raise MessageError(f"a message must be a dict, not {type(message).__name__}")
    _check_job_id(message)
    version = message.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise MessageError(
            f"message for job {message['job_id']!r} has schema_version {version!r}; "
            f"this code writes version {SCHEMA_VERSION}"
        )
    try:
        text = json.dumps(
            {**message, "schema_version": SCHEMA_VERSION},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise MessageError(
            f"message for job {message['job_id']!r} is not JSON-serialisable: {exc}"
        ) from exc
    raw = text.encode("utf-8")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(
            f"message for job {message['job_id']!r} is {len(raw)} bytes, over the "
            f"{MAX_MESSAGE_BYTES}-byte limit: put large payloads in the blob store and "
            "send a reference"
        )
    return raw


def decode_message(raw: bytes) -> dict[str, Any]:
    """Parse message bytes back into a dict, checking the schema version and the job id."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MessageError(f"message bytes expected, got {type(raw).__name__}")
    if not raw:
        raise MessageError("empty message")
    try:
        message = json.loads(bytes(raw).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MessageError(f"message is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise MessageError(f"message is not valid JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MessageError(f"message must be a JSON object, got {type(message).__name__}")
    if "schema_version" not in message:
        raise MessageError("message has no schema_version")
    version = message["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise MessageError(f"schema_version must be an integer, got {version!r}")
    if version != SCHEMA_VERSION:
        newer = "newer than" if version > SCHEMA_VERSION else "older than"
        raise MessageError(
            f"message schema_version {version} is {newer} the version this code reads "
            f"({SCHEMA_VERSION})"
        )
    _check_job_id(message)
    return message


def _check_job_id(message: dict[str, Any]) -> None:
    """Every message is keyed by its job id, so it must be a non-empty string."""
    if "job_id" not in message:
        raise MessageError("message has no job_id (every message is keyed by its job)")
    job_id = message["job_id"]
    if not isinstance(job_id, str) or not job_id:
        raise MessageError(f"job_id must be a non-empty string, got {job_id!r}")
