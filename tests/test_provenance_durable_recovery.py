"""The manifest repository and `verify` on copies that lost their manifest (SQLite and PostgreSQL)."""

from __future__ import annotations

import pathlib

import c2pa
import cv2
import numpy as np
import pytest

from audit.store import AuditStore
from provenance.authority import Authority
from provenance.errors import ProvenanceError
from provenance.fingerprint import FINGERPRINT_ALG, clip_fingerprint
from provenance.repository import ManifestRepository
from provenance.sign import soft_bindings
from provenance.verify import verify_bytes, verify_file
from provenance.watermark_code import WATERMARK_ALG
from tests.support import signed_media as support
from tests.support.photo_clips import FPS, animate, decode, encode, photo, remux
from tests.support.signed_media import publish_clip

CLAIMS = support.CLAIMS


def test_clip_ids_are_unique_32_bit_and_idempotent_per_job(repository: ManifestRepository) -> None:
    ids = [repository.allocate_clip_id(f"job-{i}") for i in range(50)]
    assert len(set(ids)) == 50 and all(0 <= i < 1 << 32 for i in ids)
    assert repository.allocate_clip_id("job-7") == ids[7]
    assert repository.by_clip_id(ids[0]) is None  # allocated, not yet registered


def test_register_then_find_by_clip_id_and_by_fingerprint(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    clip_id, signed, fingerprint = publish_clip(
        repository, authority, photo_path, tmp_path, "job-a", animate(photo(1))
    )
    entry = repository.by_clip_id(clip_id)
    assert entry is not None and entry.job_id == "job-a" and entry.fingerprint == fingerprint
    assert entry.manifest_label and entry.manifest_label.startswith("urn:c2pa:")
    reencoded = clip_fingerprint(decode(encode(decode(signed.read_bytes()), crf=28)), FPS)
    found = repository.by_fingerprint(reencoded)
    assert found is not None and found.clip_id == clip_id and found.matched_frames == 2
    unrelated = clip_fingerprint(animate(photo(2)), FPS)
    assert repository.by_fingerprint(unrelated) is None
    with pytest.raises(ProvenanceError, match="was not allocated to job job-b"):
        repository.register(clip_id=clip_id, job_id="job-b", fingerprint=[], signed_clip=signed)


def test_signed_clip_records_watermark_and_fingerprint_soft_bindings(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    clip_id, signed, fingerprint = publish_clip(
        repository, authority, photo_path, tmp_path, "job-s", animate(photo(4))
    )
    with open(signed, "rb") as handle, c2pa.Reader("video/mp4", handle) as reader:
        manifest = reader.get_active_manifest()
    bindings = {
        a["data"]["alg"]: a["data"]["blocks"]
        for a in manifest["assertions"]
        if a["label"].startswith("c2pa.soft-binding")
    }
    assert bindings[WATERMARK_ALG][0]["value"] == soft_bindings(clip_id)[0]["blocks"][0]["value"]
    assert [b["value"] for b in bindings[FINGERPRINT_ALG]] == fingerprint
    assert verify_file(signed, authority.trust_anchors()).status == "valid"


def test_stripped_copy_is_recovered_through_its_watermark(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    clip_id, signed, _ = publish_clip(
        repository, authority, photo_path, tmp_path, "job-w", animate(photo(3))
    )
    stripped = remux(signed.read_bytes())
    anchors = authority.trust_anchors()
    assert verify_bytes(stripped, anchors).status == "no_manifest"
    report = verify_bytes(stripped, anchors, repository=repository)
    assert report.status == "recovered", report.message
    assert report.recovered_from == "watermark" and report.clip_id == clip_id
    assert report.original_status == "valid"
    assert report.ai_generated and report.job_id == CLAIMS.job_id
    assert report.decision_id == CLAIMS.decision_id and report.signer == authority.signer_subject
    assert "bmffHash.mismatch" not in " ".join(report.validation_codes)


def test_copy_whose_watermark_is_destroyed_is_only_related_through_its_fingerprint(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    clip_id, signed, _ = publish_clip(
        repository, authority, photo_path, tmp_path, "job-f", animate(photo(3))
    )
    # A heavy blur wipes out the watermark's cell pattern; PDQ, which looks at 64 x 64, keeps it.
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 8) for f in decode(signed.read_bytes())])
    copy = encode(blurred, crf=23)
    report = verify_bytes(copy, authority.trust_anchors(), repository=repository)
    # Unmarked siblings from the same photo match a fingerprint too: without the watermark the
    # copy is related content from the same source, and the original's claims are not given.
    assert report.status == "related", report.message
    assert report.recovered_from == "fingerprint" and report.clip_id == clip_id
    assert report.original_status == "valid" and report.job_id is None
    assert "related content from the same source" in report.message
    assert report.match_transform == "none" and 0.5 < (report.match_confidence or 0) <= 1


def test_unrelated_clip_is_not_matched(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    publish_clip(repository, authority, photo_path, tmp_path, "job-u", animate(photo(1)))
    stranger = encode(animate(photo(7)), crf=23)
    report = verify_bytes(stranger, authority.trust_anchors(), repository=repository)
    assert report.status == "no_manifest" and report.recovered_from is None
    assert "Neither a watermark nor a fingerprint match" in report.message


def test_repository_refuses_an_unmigrated_database(tmp_path: pathlib.Path) -> None:
    with (
        AuditStore(f"sqlite:///{tmp_path / 'empty.db'}") as store,
        pytest.raises(ProvenanceError, match="run the audit database migrations"),
    ):
        ManifestRepository(store.engine)


def test_noise_does_not_decode(repository: ManifestRepository) -> None:
    noise = np.random.default_rng(3).integers(0, 256, (24, 144, 256, 3), dtype=np.uint8)
    report_frames = clip_fingerprint(noise, FPS)
    assert repository.by_fingerprint(report_frames) is None
