"""Fail closed: a stage that cannot do its job ends the job `failed`; nothing unsigned ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.store import AuditQuery
from stillguard.container import open_authority, open_store
from stillguard.pipeline.local import LocalRunner
from stillguard.pipeline.records import StageError
from stillguard.services.intake import JobRequest
from tests.journey_support import SAMPLE_PHOTO, SMALL_CLIP, settings_for


def _request() -> JobRequest:
    return JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(), prompt=None, options=SMALL_CLIP, submitter="cli"
    )


def test_job_fails_closed_when_the_signing_key_cannot_be_opened(tmp_path: Path) -> None:
    open_authority(settings_for(tmp_path))  # keys exist, under another passphrase
    settings = settings_for(tmp_path, STILLGUARD_KEY_PASSPHRASE="not-the-passphrase")
    store = open_store(settings)
    out = tmp_path / "clip.mp4"
    outcome = LocalRunner(settings, store).run(_request(), out)
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

    runner.pipeline.deps.image_classifier_factory = classifier_down
    out = tmp_path / "clip.mp4"
    outcome = runner.run(_request(), out)
    assert outcome.job.status == "failed" and "classifier service unreachable" in outcome.job.error
    assert not out.exists()
    assert store.decision_for(outcome.job.id, "input") is None
    assert not list((tmp_path / "blobs").glob("clips/*/*.mp4")), "nothing was generated"


def test_a_stale_clearance_for_a_blocked_job_generates_nothing(tmp_path: Path) -> None:
    from streams import topics

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
    runner.pipeline.publish(
        topics.JOBS_INPUT_CLEARED, {"job_id": outcome.job.id, "decision_id": "forged"}
    )
    runner.pipeline.drain()
    job = store.get_job(outcome.job.id)
    assert job.status == "failed" and "does not clear" in job.error
    assert not list((tmp_path / "blobs").glob("clips/*/*.mp4"))


def test_a_clip_swapped_after_the_output_gate_is_never_signed(tmp_path: Path) -> None:
    from stillguard.pipeline.output_gate import output_gate
    from stillguard.pipeline.records import generated_clip
    from stillguard.pipeline.signing import sign_and_publish
    from streams import topics
    from streams.messages import parse_message

    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    deps = runner.pipeline.deps
    published: list[tuple[str, dict]] = []
    deps.publish = lambda topic, message: published.append((topic, message))
    job = runner.run(_request(), None).job  # stages publish into `published`: nothing goes on
    topic, cleared_input = published[-1]
    assert job.status == "running" and topic == topics.JOBS_INPUT_CLEARED
    from stillguard.pipeline.generator import generator

    generator(parse_message(topic, cleared_input), deps)
    output_gate(parse_message(*published[-1]), deps)
    topic, cleared = published[-1]
    assert topic == topics.VIDEOS_CLEARED
    clip = deps.blobs.path(generated_clip(deps, job.id).clip_blob)
    data = bytearray(clip.read_bytes())
    data[-100] ^= 0xFF
    clip.write_bytes(bytes(data))
    with pytest.raises(StageError, match="not the clip that was generated"):
        sign_and_publish(parse_message(topic, cleared), deps)
    assert not list((tmp_path / "blobs").glob("outputs/*/*.mp4"))


def test_a_redelivered_generation_message_does_not_generate_again(tmp_path: Path) -> None:
    from stillguard.pipeline.generator import generator
    from streams.messages import InputCleared

    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    outcome = runner.run(_request(), None)
    assert outcome.job.status == "published"
    clip = next((tmp_path / "blobs").glob("clips/*/labelled.mp4"))
    before = clip.stat().st_mtime_ns
    store.update_job(outcome.job.id, status="running")
    decision_id = store.decision_for(outcome.job.id, "input").decision_id
    generator(InputCleared(job_id=outcome.job.id, decision_id=decision_id), runner.pipeline.deps)
    assert clip.stat().st_mtime_ns == before
    assert len(store.events(AuditQuery(job_id=outcome.job.id, kind="clip.generated"))) == 1
