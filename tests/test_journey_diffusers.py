"""A diffusers backend behind the same journey: its name and version reach the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.verify import verify_file
from stillguard.container import open_authority, open_store
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest
from tests.support.journey import settings_for
from tests.support.samples import SAMPLE_PHOTO
from tests.support.tiny_diffusion import tiny_svd


def test_job_generated_by_a_tiny_svd_pipeline_is_moderated_signed_and_names_its_backend(
    tmp_path: Path,
) -> None:
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    folder = tmp_path / "tiny-svd"
    tiny_svd(torch, diffusers).save_pretrained(folder)
    settings = settings_for(tmp_path, STILLGUARD_DIFFUSERS_MODEL=str(folder))
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    from generation.diffusion import DiffusionBackend

    # The real loading path from the configured folder, at a size a CPU test can afford.
    runner.deps.backend_factory = lambda: DiffusionBackend(
        settings.diffusers_model, device="cpu", steps=2, model_frames=3, max_side=64
    )
    options = {"duration_s": 1.0, "fps": 8, "size": "96x64", "seed": 3}
    outcome = runner.run(
        JobRequest(photo=SAMPLE_PHOTO.read_bytes(), prompt=None, options=options, submitter="cli"),
        tmp_path / "svd.mp4",
    )
    # Random weights make noise, not an animation of the photo: the drift check holds it.
    assert outcome.job.status == "held", outcome.to_dict()
    output_decision = outcome.job.decisions[-1]
    assert output_decision["action"] == "review"
    assert any("drift" in reason for reason in output_decision["reasons"])
    from provenance.atomic import copy_atomic
    from stillguard.services.review import decide

    decide(
        runner.deps,
        outcome.job.id,
        action="approve",
        reason="test pipeline",
        reviewer="tester",
    )
    job = runner.finish(outcome.job.id)
    assert job.status == "published"
    with runner.deps.blobs.local_copy(job.output_blob) as signed:
        copy_atomic(signed, tmp_path / "svd.mp4")
    report = verify_file(tmp_path / "svd.mp4", open_authority(settings).trust_anchors())
    assert report.status == "valid"
    assert report.generator["backend"].startswith("diffusers-svd@diffusers ")
