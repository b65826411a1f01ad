"""Kafka topic names of the job's journey, and the dead-letter topic of each."""

JOBS_SUBMITTED = "stillguard.jobs.submitted"
JOBS_INPUT_CLEARED = "stillguard.jobs.input-cleared"
VIDEOS_GENERATED = "stillguard.videos.generated"
VIDEOS_CLEARED = "stillguard.videos.cleared"
JOBS_COMPLETED = "stillguard.jobs.completed"
REVIEWS = "stillguard.reviews"

ALL_TOPICS: tuple[str, ...] = (
    JOBS_SUBMITTED,
    JOBS_INPUT_CLEARED,
    VIDEOS_GENERATED,
    VIDEOS_CLEARED,
    JOBS_COMPLETED,
    REVIEWS,
)

DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Name of the topic where messages of `topic` that keep failing are parked."""
    return topic + DEAD_LETTER_SUFFIX


ALL_DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(dead_letter_topic(t) for t in ALL_TOPICS)
