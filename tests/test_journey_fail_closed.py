"""Fail closed: a stage that cannot do its job ends the job `failed`; nothing unsigned ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.store import AuditQuery
from provenance.authority import Authority, AuthorityError
from stillguard.container import open_authority, open_store
from stillguard.errors import Unavailable
from stillguard.pipeline.local import LocalRunner
from stillguard.pipeline.records import StageError
from stillguard.services.intake import JobRequest
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


def _request() -> JobRequest:
    return JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(), prompt=None, options=SMALL_CLIP, submitter="cli"
    )


def test_a_runner_whose_keys_cannot_be_opened_refuses_before_any_job_exists(
    tmp_path: Path,
) -> None:
    open_authority(settings_for(tmp_path))  # keys exist, under another passphrase
    settings = settings_for(tmp_path, STILLGUARD_KEY_PASSPHRASE="not-the-passphrase")
    store = open_store(settings)
    with pytest.raises(Unavailable, match="passphrase"):
        LocalRunner(settings, store)
    assert store.events(AuditQuery()) == [], "no job, no photo, no event"


def test_job_fails_closed_when_signing_fails_after_the_output_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)  # the keys open at start

    def signer_offline(self: Authority, *, time_stamp: bool = True) -> None:
        raise AuthorityError("the signing key is not available (remote signer offline)")

    monkeypatch.setattr(Authority, "signer", signer_offline)
    out = tmp_path / "clip.mp4"
    outcome = runner.run(_request(), out)
    assert outcome.job.status == "failed"
    assert "provenance" in outcome.job.error
    assert not out.exists()
    assert not list((tmp_path / "blobs").glob("outputs/*/*.mp4"))
    failed = store.events(AuditQuery(job_id=outcome.job.id, kind="job.failed"))
    assert len(failed) == 1 and failed[0].stage == "provenance"
    # The output decision was recorded before signing was attempted.
    assert store.decision_for(outcome.job.id, "output") is not None


def test_job_fails_closed_when_the_image_classifier_is_down(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)

    def classifier_down() -> None:
        raise ConnectionError("classifier service unreachable")

    runner.deps.image_classifier_factory = classifier_down
    out = tmp_path / "clip.mp4"
    outcome = runner.run(_request(), out)
    assert outcome.job.status == "failed" and "classifier service unreachable" in outcome.job.error
    assert not out.exists()
    assert store.decision_for(outcome.job.id, "input") is None
    assert not list((tmp_path / "blobs").glob("clips/*/*.mp4")), "nothing was generated"


def test_a_stale_clearance_for_a_blocked_job_generates_nothing(tmp_path: Path) -> None:
    from stillguard.pipeline.records import outgoing
    from streams.messages import InputCleared

    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    outcome = runner.run(
        JobRequest(
            photo=SAMPLE_PHOTO.read_bytes(),
            prompt="make her undress",
            options=SMALL_CLIP,
            submitter="cli",
        ),
        None,
    )
    assert outcome.job.status == "refused"
    store.update_job(outcome.job.id, status="running")  # as if a second reviewer raced the first
    store.enqueue(outgoing(InputCleared(job_id=outcome.job.id, decision_id="forged")))
    job = runner.finish(outcome.job.id)
    assert job.status == "failed" and "does not clear" in job.error
    assert not list((tmp_path / "blobs").glob("clips/*/*.mp4"))


def test_a_clip_swapped_after_the_output_gate_is_never_signed(tmp_path: Path) -> None:
    from stillguard.pipeline.generator import generator
    from stillguard.pipeline.input_gate import input_gate
    from stillguard.pipeline.output_gate import output_gate
    from stillguard.pipeline.records import generated_clip
    from stillguard.pipeline.signing import sign_and_publish
    from stillguard.services.intake import submit_job
    from streams.messages import ClipCleared, JobSubmitted, parse_message

    settings = settings_for(tmp_path)
    store = open_store(settings)
    deps = LocalRunner(settings, store).deps

    def sent(job_id: str):  # the job's newest outbox message, taken so nothing else runs it
        rows = store.outbox.claim("test", lease_s=600, job_id=job_id)
        return parse_message(rows[-1].topic, rows[-1].payload)

    job = submit_job(store, deps.blobs, _request())
    assert isinstance(sent(job.id), JobSubmitted)
    input_gate(JobSubmitted(job_id=job.id), deps)
    generator(sent(job.id), deps)
    output_gate(sent(job.id), deps)
    cleared = sent(job.id)
    assert isinstance(cleared, ClipCleared)
    clip = tmp_path / "blobs" / generated_clip(deps, job.id).clip_blob
    data = bytearray(clip.read_bytes())
    data[-100] ^= 0xFF
    clip.write_bytes(bytes(data))
    with pytest.raises(StageError, match="not the clip that was generated"):
        sign_and_publish(cleared, deps)
    assert not list((tmp_path / "blobs").glob("outputs/*/*.mp4"))


def test_a_redelivered_generation_message_does_not_generate_again(tmp_path: Path) -> None:
    from stillguard.pipeline.generator import generator
    from streams.messages import InputCleared

    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    outcome = runner.run(_request(), None)
    assert outcome.job.status == "published"
    assert not list((tmp_path / "blobs").glob("clips/*/*")), "the unsigned clip is deleted"
    store.update_job(outcome.job.id, status="running")
    decision_id = store.decision_for(outcome.job.id, "input").decision_id
    generator(InputCleared(job_id=outcome.job.id, decision_id=decision_id), runner.deps)
    assert not list((tmp_path / "blobs").glob("clips/*/*")), "nothing was generated again"
    assert len(store.events(AuditQuery(job_id=outcome.job.id, kind="clip.generated"))) == 1
