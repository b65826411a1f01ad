"""The output gate's checks made on the frames as they are encoded (issue 16): the gate decides on
them without decoding the clip, once the file's keyframes prove it is those frames; any doubt, and
it decodes and checks the clip itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generation import GenerationOptions, generate_clip
from generation.encode import encode_mp4
from safety.image_classifier import ImageClassifier
from safety.photo_intake import load_photo
from safety.video_checks import check_sampled
from stillguard.container import open_store
from stillguard.pipeline import output_gate as output_gate_module
from stillguard.pipeline.frame_scan import FrameScan, encode_and_scan
from stillguard.pipeline.local import LocalRunner
from stillguard.services.clips import sampled_mp4
from stillguard.services.intake import JobRequest, submit_job
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO, SAMPLES

SMALL = {"width": 320, "height": 180, "duration_s": 2.0, "fps": 12}


@pytest.fixture(scope="module")
def classifier() -> ImageClassifier:
    return ImageClassifier(threads=1)


def _clip(path: Path = SAMPLE_PHOTO, **options):  # type: ignore[no-untyped-def]
    photo, _mime = load_photo(path.read_bytes())
    return generate_clip(photo, GenerationOptions(**{**SMALL, **options}))


def _scan(clip, path: Path, classifier: ImageClassifier) -> FrameScan:  # type: ignore[no-untyped-def]
    timings: dict[str, float] = {}
    scan = encode_and_scan(
        clip,
        path,
        preset="ultrafast",
        report=lambda s: check_sampled(s, classifier=classifier),
        timings_ms=timings,
    )
    assert timings["encode"] > 0 and timings["frame_scan"] > 0
    assert scan is not None
    return scan


def test_the_scan_agrees_with_the_check_of_the_decoded_file(tmp_path, classifier) -> None:
    clip = _clip()
    path = tmp_path / "clip.mp4"
    scan = _scan(clip, path, classifier)
    decoded = check_sampled(sampled_mp4(path), classifier=classifier)
    scanned = {s.category: s for s in scan.policy_signals()}
    read_back = {s.category: s for s in decoded.signals}
    assert scanned.keys() == read_back.keys()
    for category, signal in read_back.items():
        assert scanned[category].evaluated == signal.evaluated, category
        assert abs(scanned[category].score - signal.score) <= 0.05, category
    assert len(scan.findings["frame_signals"]) == len(decoded.frame_signals)
    assert scan.mismatch(path) is None  # the file is those frames


def test_a_file_that_is_not_the_frames_scanned_fails_the_check(tmp_path, classifier) -> None:
    clip = _clip()
    scan = _scan(clip, tmp_path / "clip.mp4", classifier)
    other_photo = _clip(SAMPLES / "eval" / "jetty-grey-mist.jpg")
    encode_mp4(other_photo, tmp_path / "other.mp4", preset="ultrafast")
    assert "differs from the frame scanned" in (scan.mismatch(tmp_path / "other.mp4") or "")
    # the same clip with a patch of other content over a corner of its first frame
    patched = clip.frames.copy()
    patched[0, :30, :40] = 255 - patched[0, :30, :40]
    clip.frames = patched
    encode_mp4(clip, tmp_path / "patched.mp4", preset="ultrafast")
    assert "differs from the frame scanned" in (scan.mismatch(tmp_path / "patched.mp4") or "")
    # cut short: the header says so before any frame is decoded
    clip.frames = patched[:-3]
    encode_mp4(clip, tmp_path / "short.mp4", preset="ultrafast")
    assert "declares 21 frames, 24 were scanned" in (scan.mismatch(tmp_path / "short.mp4") or "")


def test_a_scan_that_raises_leaves_the_checks_to_the_gate(tmp_path) -> None:
    def classifier_down(_sampled):  # type: ignore[no-untyped-def]
        raise ConnectionError("classifier service unreachable")

    path = tmp_path / "clip.mp4"
    scan = encode_and_scan(_clip(), path, preset="ultrafast", report=classifier_down, timings_ms={})
    assert scan is None
    assert sampled_mp4(path).count == 24  # the clip itself was encoded whole


def _job_through_the_output_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decodes: list):
    from stillguard.pipeline.generator import generator
    from stillguard.pipeline.input_gate import input_gate
    from stillguard.pipeline.records import generated_clip
    from streams.messages import JobSubmitted, parse_message

    settings = settings_for(tmp_path)
    store = open_store(settings)
    deps = LocalRunner(settings, store).deps

    def sent(job_id: str):  # type: ignore[no-untyped-def]
        rows = store.outbox.claim("test", lease_s=600, job_id=job_id)
        return parse_message(rows[-1].topic, rows[-1].payload)

    def decoding(path: Path):  # type: ignore[no-untyped-def]
        decodes.append(path)
        return sampled_mp4(path)

    monkeypatch.setattr(output_gate_module, "sampled_mp4", decoding)
    request = JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(), prompt=None, options=SMALL_CLIP, submitter="cli"
    )
    job = submit_job(store, deps.blobs, request)
    sent(job.id)
    input_gate(JobSubmitted(job_id=job.id), deps)
    generator(sent(job.id), deps)
    assert generated_clip(deps, job.id).frame_scan is not None
    output_gate_module.output_gate(sent(job.id), deps)
    decision = store.decision_for(job.id, "output")
    assert decision is not None
    return decision


def test_the_gate_decides_on_the_scan_without_decoding_the_clip(tmp_path, monkeypatch) -> None:
    decodes: list[Path] = []
    decision = _job_through_the_output_gate(tmp_path, monkeypatch, decodes)
    assert decodes == []
    assert decision.payload["frames_checked"].startswith("scanned as encoded")
    assert decision.action == "label"  # the default pack labels every clean clip
    categories = {s["category"] for s in decision.signals}
    assert {"nsfw", "flash.general", "escalation.nsfw"} <= categories
    assert decision.payload["frame_signals"] and "timeline" in decision.payload


def test_a_scan_the_file_does_not_match_is_checked_by_decoding(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(FrameScan, "mismatch", lambda self, path: "keyframe 0 differs")
    decodes: list[Path] = []
    decision = _job_through_the_output_gate(tmp_path, monkeypatch, decodes)
    assert len(decodes) == 1
    assert decision.payload["frames_checked"] == "decoded: keyframe 0 differs"
    assert decision.action == "label"  # as on the scan
    assert {"nsfw", "flash.general"} <= {s["category"] for s in decision.signals}
    assert np.isfinite([s["score"] for s in decision.signals]).all()
