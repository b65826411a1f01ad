"""The wire format of every stream message: a JSON object with a schema version and a job id.

Both backends encode and decode through this module, so a message the in-process backend
accepts is exactly one Kafka accepts. Blobs (photos, clips) never travel inside a message:
messages carry blob references (claim check), and anything over `MAX_MESSAGE_BYTES` is refused.
"""

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams import topics

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


class StreamMessage(BaseModel):
    """A typed message of one topic; `TOPIC` says where it travels. Unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TOPIC: ClassVar[str]

    schema_version: int = SCHEMA_VERSION
    job_id: str = Field(min_length=1)

    def payload(self) -> dict[str, Any]:
        """The JSON-ready dict the backends encode."""
        return self.model_dump(mode="json")


class JobSubmitted(StreamMessage):
    """A job was recorded and its photo stored: the input gate moderates it."""

    TOPIC = topics.JOBS_SUBMITTED


class InputCleared(StreamMessage):
    """The input decision (or a reviewer) cleared the job: the generator makes its clip."""

    TOPIC = topics.JOBS_INPUT_CLEARED
    decision_id: str


class ClipGenerated(StreamMessage):
    """A labelled, watermarked clip was encoded and recorded: the output gate checks it."""

    TOPIC = topics.VIDEOS_GENERATED
    clip_blob: str
    clip_sha256: str
    backend: str
    backend_version: str


class ClipCleared(ClipGenerated):
    """The output decision (or a reviewer) cleared the clip: the authority signs it."""

    TOPIC = topics.VIDEOS_CLEARED
    decision_id: str


class JobCompleted(StreamMessage):
    """A job ended: published (with its signed clip), refused, held or failed."""

    TOPIC = topics.JOBS_COMPLETED
    status: Literal["published", "refused", "held", "failed"]
    output_blob: str | None = None


class ReviewRequested(StreamMessage):
    """A decision sent the job to a human reviewer."""

    TOPIC = topics.REVIEWS
    stage: str
    reasons: list[str]


MESSAGE_FOR_TOPIC: dict[str, type[StreamMessage]] = {
    cls.TOPIC: cls
    for cls in (
        JobSubmitted,
        InputCleared,
        ClipGenerated,
        ClipCleared,
        JobCompleted,
        ReviewRequested,
    )
}


class DeadLetterInfo(BaseModel):
    """Why a message was given up on."""

    model_config = ConfigDict(frozen=True, extra="allow")
    error: str
    topic: str
    attempts: int


class DeadLettered(BaseModel):
    """A message parked on a `.dlq` topic: the original fields plus `dead_letter`."""

    model_config = ConfigDict(frozen=True, extra="allow")
    schema_version: int = SCHEMA_VERSION
    job_id: str = Field(min_length=1)
    dead_letter: DeadLetterInfo


def parse_message(topic: str, message: dict[str, Any]) -> StreamMessage | DeadLettered:
    """The typed message of `topic` from a decoded dict; MessageError says what is wrong."""
    dead = topic.endswith(topics.DEAD_LETTER_SUFFIX)
    model: type[StreamMessage | DeadLettered] | None = (
        DeadLettered if dead else MESSAGE_FOR_TOPIC.get(topic)
    )
    if model is None:
        raise MessageError(f"no message type is defined for topic {topic!r}")
    try:
        return model.model_validate(message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise MessageError(
            f"{topic} message for job {message.get('job_id')!r}: {where}: {first['msg']}"
        ) from exc
