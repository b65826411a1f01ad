"""Abuse over time, end to end through the API: a key's refusals, near-duplicates of its refused
photos, paraphrases of its refused prompts and option probing escalate its jobs; quotas answer
429; every history signal is audited with its evidence; the history is purged after retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from audit.records import AuditQuery
from policies.expressions import SIGNAL_CATEGORIES
from safety.hashes import pdq_hash
from safety.history import Attempt, history_signals
from stillguard.api import create_app
from stillguard.container import open_store
from stillguard.services.abuse import purge_history
from tests.support.abuse_probes import (
    PROMPT_REWORDINGS,
    REFUSED_PROMPT,
    photo_variant,
    png,
    probe_photo,
)
from tests.support.journey import SMALL_CLIP, settings_for, wait_for
from tests.support.synthetic_photos import landscape_photo

# Every history category a pack may name is a signal of every input decision.
HISTORY_CATEGORIES = {c for c in SIGNAL_CATEGORIES if c.startswith("history.")}
REFUSED_PHOTO = png(probe_photo())
BENIGN_PHOTO = png(landscape_photo(256, 144, seed=3))
# 52 PDQ bits from the refused photo: past the bank's match distance (31), within the history's.
ESCAPING_VARIANT = 1


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("abuse-home"))
    store = open_store(settings)
    admin, reviewer = (store.create_api_key(role)[1] for role in ("admin", "reviewer"))
    with TestClient(create_app(settings)) as client:
        bank = f"{pdq_hash(probe_photo())[0].hex()},prober-photo\n"
        loaded = client.put("/v1/hash-banks/known-bad", content=bank.encode(), headers=_auth(admin))
        assert loaded.status_code in (200, 201), loaded.text
        yield SimpleNamespace(client=client, store=store, reviewer=_auth(reviewer))


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _new_key(api: SimpleNamespace) -> tuple[str, dict[str, str]]:
    key_id, secret = api.store.create_api_key("submitter")
    return key_id, _auth(secret)


def _submit(api: SimpleNamespace, key: dict, photo: bytes, **fields: str) -> dict:
    options = json.loads(fields.pop("options", json.dumps(SMALL_CLIP)))
    response = api.client.post(
        "/v1/jobs",
        files={"image": ("photo.png", photo, "image/png")},
        data={"options": json.dumps(options), **fields},
        headers=key,
    )
    assert response.status_code == 202, response.text
    return wait_for(api.client, key, response.json()["job_id"])


def _input_decision(job: dict) -> dict:
    return next(d for d in job["decisions"] if d["stage"] == "input")


def _history_signals(api: SimpleNamespace, job_id: str) -> dict[str, dict]:
    events = api.client.get("/v1/audit", params={"job": job_id}, headers=api.reviewer).json()
    decision = next(
        e for e in events["events"] if e["kind"] == "decision" and e["stage"] == "input"
    )
    return {s["category"]: s for s in decision["signals"] if s["category"].startswith("history.")}


def test_three_refusals_in_ten_minutes_send_everything_to_review_and_ten_block_the_key(
    api,
) -> None:
    _, key = _new_key(api)
    for _ in range(3):
        assert _submit(api, key, REFUSED_PHOTO)["status"] == "refused"
    held = _submit(api, key, BENIGN_PHOTO)
    assert held["status"] == "held"
    assert _input_decision(held)["rules_fired"] == ["input.history.refusals.review"]
    for _ in range(7):
        assert _submit(api, key, REFUSED_PHOTO)["status"] == "refused"
    blocked = _submit(api, key, BENIGN_PHOTO)
    assert blocked["status"] == "refused"
    assert "input.history.refusals.block" in _input_decision(blocked)["rules_fired"]
    signals = _history_signals(api, blocked["job_id"])
    assert signals.keys() == HISTORY_CATEGORIES
    assert signals["history.refusals_10m"]["score"] == 10
    assert signals["history.refusals_10m_peak_1h"]["score"] == 10
    counted = json.loads(signals["history.refusals_10m"]["detail"])["job_ids"]
    assert len(counted) == 10 and held["job_id"] not in counted


def test_a_different_submitter_is_unaffected(api) -> None:
    _, prober = _new_key(api)
    for _ in range(3):
        _submit(api, prober, REFUSED_PHOTO)
    _, bystander = _new_key(api)
    job = _submit(api, bystander, BENIGN_PHOTO)
    assert job["status"] == "published"
    signals = _history_signals(api, job["job_id"])
    assert signals["history.refusals_1d"]["score"] == 0
    assert signals["history.submissions_10m"]["score"] == 1


def test_near_duplicate_of_a_refused_photo_is_held_with_the_pdq_distance_as_evidence(
    api,
) -> None:
    _, key = _new_key(api)
    refused = _submit(api, key, REFUSED_PHOTO)
    assert refused["status"] == "refused"
    variant = _submit(api, key, png(photo_variant(probe_photo(), ESCAPING_VARIANT)))
    assert variant["status"] == "held"
    assert _input_decision(variant)["rules_fired"] == ["input.history.photo_near_refused.review"]
    near = _history_signals(api, variant["job_id"])["history.photo_near_refused"]
    evidence = json.loads(near["detail"])
    assert evidence["job_id"] == refused["job_id"]
    assert 31 < evidence["pdq_distance"] <= 64
    assert near["score"] == pytest.approx(1 - evidence["pdq_distance"] / 256, abs=1e-4)


def test_paraphrase_of_a_refused_prompt_is_flagged_with_its_similarity(api) -> None:
    _, key = _new_key(api)
    refused = _submit(api, key, BENIGN_PHOTO, prompt=REFUSED_PROMPT)
    assert refused["status"] == "refused"
    other_photo = png(landscape_photo(256, 144, seed=5))
    reworded = _submit(api, key, other_photo, prompt=PROMPT_REWORDINGS[12])  # Spanish
    assert "input.history.prompt_near_refused.review" in _input_decision(reworded)["rules_fired"]
    evidence = json.loads(
        _history_signals(api, reworded["job_id"])["history.prompt_near_refused"]["detail"]
    )
    assert evidence["job_id"] == refused["job_id"] and evidence["similarity"] >= 0.9


def test_option_changes_after_a_refusal_are_flagged_as_probing(api) -> None:
    _, key = _new_key(api)
    _submit(api, key, REFUSED_PHOTO)
    fired = []
    for changed in ({"motion": "low"}, {"motion": "high"}, {"style": "dramatic"}):
        options = json.dumps({**SMALL_CLIP, **changed})
        job = _submit(
            api, key, png(photo_variant(probe_photo(), ESCAPING_VARIANT)), options=options
        )
        fired.append("input.history.option_probing.review" in _input_decision(job)["rules_fired"])
    assert fired == [False, False, True]


def test_history_older_than_the_retention_is_purged(api) -> None:
    key_id, key = _new_key(api)
    _submit(api, key, REFUSED_PHOTO)
    since = datetime.now(UTC) - timedelta(hours=1)
    deps = api.client.app.state.services.deps
    retention = timedelta(days=deps.settings.history_retention_days)
    purge_history(deps, now=datetime.now(UTC) + retention - timedelta(minutes=5))
    assert api.store.history.count_since(key_id, since) == 1, "inside the retention: kept"
    assert purge_history(deps, now=datetime.now(UTC) + retention + timedelta(minutes=5)) >= 1
    assert api.store.history.count_since(key_id, since) == 0


@pytest.fixture
def quota_api(tmp_path: Path):
    settings = settings_for(tmp_path, STILLGUARD_QUOTA_PER_MINUTE="2")
    store = open_store(settings)
    keys = [_auth(store.create_api_key("submitter")[1]) for _ in range(2)]
    with TestClient(create_app(settings)) as client:
        yield client, store, keys, tmp_path


def test_quota_overrun_answers_429_with_retry_after_and_changes_nothing(quota_api) -> None:
    client, store, (key, other), home = quota_api

    def post(headers: dict, photo: bytes):
        files = {"image": ("photo.png", photo, "image/png")}
        return client.post(
            "/v1/jobs", files=files, data={"options": json.dumps(SMALL_CLIP)}, headers=headers
        )

    for seed in (1, 2):
        assert post(key, png(landscape_photo(96, 64, seed=seed))).status_code == 202
    events = len(store.events(AuditQuery(limit=1000)))
    blobs = sorted(p.name for p in (home / "blobs").rglob("*"))
    over = post(key, png(landscape_photo(96, 64, seed=3)))
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded" and "STILLGUARD_QUOTA_PER_MINUTE" in error["message"]
    assert error["request_id"] == over.headers["X-Request-ID"]
    assert len(store.list_jobs(limit=100)) == 2
    assert len(store.events(AuditQuery(limit=1000))) == events
    assert sorted(p.name for p in (home / "blobs").rglob("*")) == blobs
    assert post(other, png(landscape_photo(96, 64, seed=4))).status_code == 202


def _past(job_id: str, refused_at: datetime) -> SimpleNamespace:
    return SimpleNamespace(
        job_id=job_id,
        submitted_at=refused_at,
        refused_at=refused_at,
        options={},
        photo_pdq=None,
        prompt_vector=None,
    )


def test_a_burst_of_ten_refusals_holds_the_block_signal_for_an_hour() -> None:
    burst_end = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    past = [_past(f"job{i}", burst_end - timedelta(seconds=50 * i)) for i in range(10)]

    def peak(minutes_later: int) -> float:
        attempt = Attempt(burst_end + timedelta(minutes=minutes_later), {}, None, None)
        found = {s.category: s for s in history_signals(attempt, past)}
        return found["history.refusals_10m_peak_1h"].score

    assert [peak(m) for m in (1, 30, 59, 61)] == [10, 10, 10, 0]
