"""Fail closed: a stage that cannot do its job ends the job `failed`; nothing unsigned ships."""

from __future__ import annotations

from pathlib import Path

from audit.store import AuditQuery
from stillguard.jobs import LocalRunner
from stillguard.wiring import JobRequest, open_authority, open_store
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
