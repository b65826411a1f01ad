"""What the console's pages show, gathered from the store and the services (no HTML here)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from audit.records import EventRecord, JobRecord

from ...container import StageDeps
from ...errors import Conflict
from ...services.appeal_state import appeal_of
from ...services.review import held_jobs
from ...services.review_media import reviewable_job, timeline

HISTORY_LIMIT = 1000
AUDIT_COLUMNS = ("seq", "created_at", "job_id", "stage", "kind", "action", "policy_version")


def age_text(since: datetime, now: datetime | None = None) -> str:
    """A short human age ("3 min", "2 h 5 min") for the queue."""
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def queue(deps: StageDeps, limit: int = 200) -> list[dict[str, Any]]:
    """The held jobs, oldest first, each with its age and why it was held."""
    now = datetime.now(UTC)
    return [
        {**row, "age": age_text(datetime.fromisoformat(row["created_at"]), now)}
        for row in held_jobs(deps, limit=limit)
    ]


def submitter_history(deps: StageDeps, job: JobRecord) -> dict[str, int]:
    """How the submitter's recent jobs ended: counts of published, refused and held."""
    jobs = deps.store.list_jobs(submitter=job.submitter, limit=HISTORY_LIMIT)
    counts = Counter(j.status for j in jobs)
    return {status: counts.get(status, 0) for status in ("published", "refused", "held")} | {
        "total": len(jobs)
    }


def job_page(deps: StageDeps, job_id: str) -> dict[str, Any]:
    """Everything the job page shows: the job, why it is held, the rules with their scores and
    thresholds, earlier decisions, the submitter's history and who holds the claim."""
    job = reviewable_job(deps, job_id)
    try:
        scores = timeline(deps, job.id)
    except Conflict:
        scores = None
    held = next((d for d in reversed(job.decisions or ()) if d.get("action") == "review"), {})
    return {
        "job": job,
        "age": age_text(job.created_at),
        "held": held,
        "rules": _rule_rows(scores, held),
        "decisions": list(job.decisions or ()),
        "history": submitter_history(deps, job),
        "claim": deps.store.review_claim(job.id),
        "appeal": appeal_of(job),
        "has_clip": scores is not None,
        # The held clip is kept while the output gate's hold waits; a refusal (and so an appeal)
        # discards it.
        "playable": scores is not None and job.status == "held" and not held.get("appeal"),
    }


def _rule_rows(scores: dict[str, Any] | None, held: dict[str, Any]) -> list[dict[str, Any]]:
    """Each output rule with the clip's peak score on its category, and whether it fired."""
    if scores is None:
        return []
    peaks: dict[str, float] = {}
    for signal in [*scores["signals"], *scores["frame_signals"]]:
        if signal.get("evaluated", True):
            category = signal["category"]
            peaks[category] = max(peaks.get(category, 0.0), float(signal["score"]))
    fired = set(held.get("rules_fired") or ())
    return [
        {
            **rule,
            "score": peaks.get(rule["category"]),
            "fired": rule["rule"] in fired,
        }
        for rule in scores["thresholds"]
    ]


def audit_csv(events: list[EventRecord]) -> str:
    """The page as CSV: the event's columns, then its reasons and payload as JSON text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*AUDIT_COLUMNS, "reasons", "payload", "hash"])
    for event in events:
        row = event.to_dict()
        writer.writerow(
            [
                *(row.get(column) for column in AUDIT_COLUMNS),
                json.dumps(row.get("reasons", [])),
                json.dumps(row.get("payload", {}), sort_keys=True),
                row.get("hash"),
            ]
        )
    return out.getvalue()
