"""Abuse over time: per-key quotas, and the key's history fed to the input gate as signals.

What the API can tell callers apart by is the API key, so the key is the submitter here: its
quotas, its refusals, its refused photos and prompts. Quotas cover all of a key's surfaces; its
history signals read only the job's own surface (a photo refused under a stricter pack, such as
a teen surface's, says nothing about the key's use of another surface). The history is written at intake (the
submission), at the input gate (compact fingerprints of what it read) and when a job is refused
or a refusal is overturned; `purge_history` forgets it after `history_retention_days`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PIL import Image

from audit.records import utc_now
from audit.store import AuditStore, JobRecord
from safety.history import LOOKBACK, Attempt, compact_vector, history_signals, photo_fingerprint
from safety.signals import Signal

from ..container import StageDeps
from ..errors import RateLimited
from ..metrics import QUOTA_REFUSALS
from ..settings import Settings

MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)


@dataclass(frozen=True)
class Quota:
    """How many jobs one API key may submit per minute and per day."""

    per_minute: int
    per_day: int

    @classmethod
    def of(cls, settings: Settings) -> Quota:
        """The quota the settings give every key."""
        return cls(settings.quota_per_minute, settings.quota_per_day)


def check_quota(store: AuditStore, submitter: str, quota: Quota) -> None:
    """RateLimited, with the seconds until a slot frees, when the key's quota is spent.

    Checked before anything is stored, so an answer over quota changes nothing. Two requests
    racing for the last slot may both pass: the quota is a ceiling for abuse, not a meter.
    """
    now = utc_now()
    for window, limit, name in ((MINUTE, quota.per_minute, "minute"), (DAY, quota.per_day, "day")):
        since = now - window
        used = store.history.count_since(submitter, since)
        if used < limit:
            continue
        # The window slides: a slot frees when the submission `used - limit` places in ages out.
        frees = store.history.nth_since(submitter, since, used - limit) or now
        wait = max(1, math.ceil((frees + window - now).total_seconds()))
        QUOTA_REFUSALS.labels(window=name).inc()
        raise RateLimited(
            "quota_exceeded",
            f"this key submitted {used} jobs in the last {name} (quota {limit}, "
            f"STILLGUARD_QUOTA_PER_{name.upper()}); retry in {wait} s",
            retry_after_s=wait,
        )


def remember_submission(store: AuditStore, job: JobRecord) -> None:
    """Add a new job to its key's history (options without the prompt's text)."""
    store.history.record(job.id, job.submitter, job.surface, _without_text(job), job.created_at)


def history_signals_for(
    deps: StageDeps, job: JobRecord, photo: Image.Image, prompt: str | None
) -> list[Signal]:
    """The job's history signals; keeps its photo hash and prompt embedding for later jobs."""
    vector = deps.prompt_classifier.embedding(prompt) if prompt else None
    now = utc_now()
    attempt = Attempt(
        at=now,
        options=job.options,
        photo_pdq=photo_fingerprint(photo),
        prompt_vector=compact_vector(vector) if vector is not None else None,
    )
    deps.store.history.record(
        job.id,
        job.submitter,
        job.surface,
        _without_text(job),
        job.created_at,
        photo_pdq=attempt.photo_pdq,
        prompt_vector=attempt.prompt_vector,
    )
    recent = deps.store.history.since(job.submitter, job.surface, now - LOOKBACK)
    past = [p for p in recent if p.job_id != job.id]
    return history_signals(attempt, past)


def _without_text(job: JobRecord) -> dict[str, Any]:
    """The job's options as the history keeps them: without the prompt's text."""
    return {k: v for k, v in job.options.items() if k != "motion_prompt"}


def record_outcome(store: AuditStore, job_id: str, *, refused: bool) -> None:
    """Count the job among its key's refusals (or stop counting it: overturned on appeal)."""
    store.history.mark_refused(job_id, refused)


def purge_history(deps: StageDeps, now: datetime | None = None) -> int:
    """Forget submissions older than `history_retention_days`; returns how many."""
    before = (now or utc_now()) - timedelta(days=deps.settings.history_retention_days)
    return deps.store.history.purge(before)
