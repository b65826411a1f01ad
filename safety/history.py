"""Abuse over time: signals from what one key submitted before, for the policy to weigh.

A caller probing the thresholds resubmits a refused photo slightly changed, rewords a refused
prompt, or flips options until something passes. Each attempt gets, from its key's history
(the attempt itself not included):

- `history.refusals_10m`, `_1h`, `_1d`: refusals in the last 10 minutes, hour and day;
- `history.refusals_10m_peak_1h`: the most refusals in any 10 minutes that ended within the last
  hour, so a rule on it holds for an hour after a burst ("blocked for an hour");
- `history.photo_near_refused`: 1 - PDQ distance / 256 to the nearest photo refused in the last
  day (1.0 is the same picture; unrelated photos sit near 0.5);
- `history.prompt_near_refused`: cosine similarity of the prompt's multilingual embedding to the
  nearest prompt refused in the last day (paraphrases, other languages included);
- `history.option_changes_10m`: distinct option sets tried since a refusal in the last 10
  minutes, this attempt included (threshold probing);
- `history.submissions_10m`: submissions in the last 10 minutes, this one included (the rate).

Counts are whole numbers, not [0, 1] scores: a threshold rule on one compares the count
(`policies.expressions.COUNT_CATEGORIES`). Every signal's `detail` is JSON evidence: the job ids it counted
or matched, the PDQ distance, the similarity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from PIL import Image

from safety.hashes import DEFAULT_QUALITY_FLOOR, pdq_hash
from safety.signals import Signal

MODEL = "history@1"
REFUSAL_WINDOWS = {"10m": timedelta(minutes=10), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
BURST = REFUSAL_WINDOWS["10m"]
BURST_HOLD = REFUSAL_WINDOWS["1h"]
LOOKBACK = REFUSAL_WINDOWS["1d"]  # the longest look back: history kept less long breaks signals
PDQ_BITS = 256
_EVIDENCE_JOBS = 10  # job ids named per signal: enough to find the rest in the audit
# Options that are not settings a prober flips: the prompt's motion text (the paraphrase signal
# covers the prompt) and the seed (a new seed per attempt is how clients ask for variety).
UNPROBED_OPTIONS = frozenset({"motion_prompt", "seed"})


class PastSubmission(Protocol):
    """What the history remembers of one earlier job (audit's SubmissionRecord is one)."""

    @property
    def job_id(self) -> str: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def refused_at(self) -> datetime | None: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def photo_pdq(self) -> bytes | None: ...
    @property
    def prompt_vector(self) -> bytes | None: ...


@dataclass(frozen=True)
class Attempt:
    """The submission being decided, in the compact forms the history compares."""

    at: datetime
    options: Mapping[str, Any]
    photo_pdq: bytes | None
    prompt_vector: bytes | None


def photo_fingerprint(photo: Image.Image) -> bytes | None:
    """The photo's PDQ hash, or None when its quality is under the floor (flat or tiny
    pictures hash alike, so they would look like near-duplicates of each other)."""
    digest, quality = pdq_hash(photo)
    return digest if quality >= DEFAULT_QUALITY_FLOOR else None


def compact_vector(vector: np.ndarray) -> bytes:
    """An embedding as int8 (one byte a dimension; similarities move by under 0.01)."""
    unit = np.asarray(vector, dtype=np.float32).ravel()
    unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
    return np.round(unit * 127).astype(np.int8).tobytes()


def history_signals(attempt: Attempt, past: Sequence[PastSubmission]) -> list[Signal]:
    """Every history signal for `attempt`, given its key's earlier submissions (any order)."""
    refused = sorted(
        (p for p in past if p.refused_at is not None and p.refused_at <= attempt.at),
        key=lambda p: p.refused_at or attempt.at,
    )
    recent = [p for p in refused if p.refused_at and p.refused_at > attempt.at - LOOKBACK]
    signals = [
        _count(f"history.refusals_{name}", [p for p in refused if _within(p, attempt.at, span)])
        for name, span in REFUSAL_WINDOWS.items()
    ]
    return [
        *signals,
        _burst_peak(refused, attempt.at),
        _nearest_photo(attempt, recent),
        _nearest_prompt(attempt, recent),
        _option_changes(attempt, past, refused),
        _count(
            "history.submissions_10m",
            [p for p in past if p.submitted_at > attempt.at - BURST],
            plus_this=True,
        ),
    ]


def _within(past: PastSubmission, now: datetime, span: timedelta) -> bool:
    return past.refused_at is not None and now - span < past.refused_at <= now


def _signal(category: str, score: float, evidence: dict[str, Any]) -> Signal:
    return Signal(category, round(score, 4), MODEL, detail=json.dumps(evidence, sort_keys=True))


def _count(category: str, counted: list[PastSubmission], *, plus_this: bool = False) -> Signal:
    newest_first = [p.job_id for p in reversed(counted)][:_EVIDENCE_JOBS]
    return _signal(category, len(counted) + plus_this, {"job_ids": newest_first})


def _burst_peak(refused: list[PastSubmission], now: datetime) -> Signal:
    """The most refusals in one 10-minute window that ended in the last hour (two pointers)."""
    times = [p.refused_at for p in refused if p.refused_at]
    best, best_range, start = 0, (0, 0), 0
    for end, ended in enumerate(times):
        while times[start] <= ended - BURST:
            start += 1
        if ended > now - BURST_HOLD and end - start + 1 > best:
            best, best_range = end - start + 1, (start, end + 1)
    burst = refused[best_range[0] : best_range[1]]
    evidence: dict[str, Any] = {"job_ids": [p.job_id for p in reversed(burst)][:_EVIDENCE_JOBS]}
    if burst and burst[-1].refused_at:
        evidence["burst_ended_at"] = burst[-1].refused_at.isoformat()
    return _signal("history.refusals_10m_peak_1h", best, evidence)


def _nearest_photo(attempt: Attempt, refused: list[PastSubmission]) -> Signal:
    hashed = [p for p in refused if p.photo_pdq]
    if attempt.photo_pdq is None or not hashed:
        why = "photo hash under the quality floor" if attempt.photo_pdq is None else "none"
        return _signal("history.photo_near_refused", 0.0, {"compared": 0, "refused_photos": why})
    mine = np.frombuffer(attempt.photo_pdq, dtype=np.uint8)
    theirs = np.frombuffer(b"".join(p.photo_pdq or b"" for p in hashed), dtype=np.uint8)
    distances = np.bitwise_count(theirs.reshape(-1, mine.size) ^ mine).sum(axis=1)
    nearest = int(np.argmin(distances))
    distance = int(distances[nearest])
    evidence = {"job_id": hashed[nearest].job_id, "pdq_distance": distance, "compared": len(hashed)}
    return _signal("history.photo_near_refused", 1.0 - distance / PDQ_BITS, evidence)


def _nearest_prompt(attempt: Attempt, refused: list[PastSubmission]) -> Signal:
    embedded = [p for p in refused if p.prompt_vector]
    if attempt.prompt_vector is None or not embedded:
        return _signal("history.prompt_near_refused", 0.0, {"compared": 0})
    mine = _unit(attempt.prompt_vector)
    theirs = np.stack([_unit(p.prompt_vector or b"") for p in embedded])
    similarities = theirs @ mine
    nearest = int(np.argmax(similarities))
    similarity = float(np.clip(similarities[nearest], 0.0, 1.0))
    evidence = {
        "job_id": embedded[nearest].job_id,
        "similarity": round(similarity, 4),
        "compared": len(embedded),
    }
    return _signal("history.prompt_near_refused", similarity, evidence)


def _unit(compact: bytes) -> np.ndarray:
    vector = np.frombuffer(compact, dtype=np.int8).astype(np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _option_changes(
    attempt: Attempt, past: Sequence[PastSubmission], refused: list[PastSubmission]
) -> Signal:
    """Distinct option sets tried after the newest refusal of the last 10 minutes."""
    latest = next((p for p in reversed(refused) if _within(p, attempt.at, BURST)), None)
    if latest is None:
        return _signal("history.option_changes_10m", 0, {"after_job": None})
    base = _probed(latest.options)
    after = [p for p in past if p.submitted_at > latest.submitted_at]
    tried = [_probed(p.options) for p in after] + [_probed(attempt.options)]
    changed = {key for options in tried for key in _changed_keys(base, options)}
    distinct = {json.dumps(options, sort_keys=True) for options in tried if options != base}
    evidence = {
        "after_job": latest.job_id,
        "changed": sorted(changed),
        "job_ids": [p.job_id for p in after][-_EVIDENCE_JOBS:],
    }
    return _signal("history.option_changes_10m", len(distinct), evidence)


def _probed(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in UNPROBED_OPTIONS}


def _changed_keys(base: Mapping[str, Any], other: Mapping[str, Any]) -> set[str]:
    return {k for k in base.keys() | other.keys() if base.get(k) != other.get(k)}
