"""Dead letters: messages given up on, for an operator to inspect and send again, audited."""

from __future__ import annotations

from audit.records import EventDraft, OutboxRecord
from audit.store import AuditStore

from ..errors import InvalidInput, NotFound


def dead_letters(store: AuditStore, topic: str | None, limit: int = 100) -> list[OutboxRecord]:
    """Messages given up on, oldest first, optionally of one topic (or the webhook channel)."""
    return store.outbox.dead_letters(topic, limit=limit)


def replay_dead_letters(
    store: AuditStore, topic: str, ids: list[int] | None, *, operator: str
) -> int:
    """Send dead letters of `topic` again (all, or those with `ids`); audited with who did it."""
    if ids is not None and not ids:
        raise InvalidInput("nothing_to_replay", "name the dead letters to replay, or all of them")
    letters = [
        d for d in store.outbox.dead_letters(topic, limit=10_000) if ids is None or d.id in ids
    ]
    missing = sorted(set(ids or ()) - {d.id for d in letters})
    if missing:
        raise NotFound("not_found", f"no dead letter {missing[0]} on {topic}")
    replayed = store.outbox.replay([d.id for d in letters])
    store.append(
        EventDraft.without_job(
            "operator",
            "dead_letters.replayed",
            "replay",
            f"{operator} replayed {replayed} dead letter(s) of {topic}",
            {"topic": topic, "ids": [d.id for d in letters], "operator": operator},
        )
    )
    return replayed
