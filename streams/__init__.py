"""Topic names, message schema and the stream backends (in-process and Kafka).

`KafkaBackend` lives in `streams.kafka` and is imported from there, so embedded mode never
loads the Kafka client.
"""

from streams.backend import DeadLetter, Handler, StreamBackend, StreamError
from streams.inprocess import InProcessBackend
from streams.messages import SCHEMA_VERSION, MessageError, decode_message, encode_message
from streams.topics import ALL_TOPICS, dead_letter_topic

__all__ = [
    "ALL_TOPICS",
    "SCHEMA_VERSION",
    "DeadLetter",
    "Handler",
    "InProcessBackend",
    "MessageError",
    "StreamBackend",
    "StreamError",
    "dead_letter_topic",
    "decode_message",
    "encode_message",
]
