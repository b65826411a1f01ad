"""Sign a real clip, then verify it and every way it can go wrong."""

from __future__ import annotations

import json
import pathlib

import pytest

from provenance.authority import Authority
from provenance.errors import CorruptMediaError, ProvenanceError, UnsupportedMediaError
from provenance.sign import sign_clip
from provenance.trust import TrustAnchors
from provenance.verify import verify_bytes, verify_file
from tests.support import signed_media as support

CLAIMS, reencode = support.CLAIMS, support.reencode


def _box_payload(data: bytes, box: bytes) -> tuple[int, int]:
    """(start, end) of the payload of the first top-level MP4 box of type `box`."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        if kind == box:
            return offset + header, offset + size
        offset += size
    raise AssertionError(f"no {box!r} box")


def test_signed_clip_verifies_as_valid_ai_generated_with_its_decision(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    report = verify_file(signed_clip, authority.trust_anchors())
    assert report.status == "valid", report.message
    assert report.ai_generated is True
    assert report.decision_id == CLAIMS.decision_id
    assert report.job_id == CLAIMS.job_id and report.policy_version == CLAIMS.policy_version
    assert report.generator == {
        "name": "stillguard-procedural",
        "version": "0.1.0",
        "backend": "cpu",
    }
    assert report.signer == authority.signer_subject
    assert report.time_stamped and "timeStamp.trusted" in report.validation_codes
    assert "signingCredential.trusted" in report.validation_codes
    json.dumps(report.to_dict())


def test_verify_accepts_a_bare_pem_bundle_of_signer_roots(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    assert verify_file(signed_clip, authority.root_pem).status == "valid"


def test_verify_bytes_gives_the_same_report_as_verify_file(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    from_bytes = verify_bytes(signed_clip.read_bytes(), authority.trust_anchors()).to_dict()
    from_file = verify_file(signed_clip, authority.trust_anchors()).to_dict()
    assert from_bytes == from_file


def test_manifest_carries_photo_ingredient_thumbnail_and_generation_assertion(
    signed_clip: pathlib.Path,
) -> None:
    import c2pa

    with open(signed_clip, "rb") as handle, c2pa.Reader("video/mp4", handle) as reader:
        manifest = reader.get_active_manifest()
    assert manifest["thumbnail"]["format"] == "image/jpeg"
    [ingredient] = manifest["ingredients"]
    assert ingredient["relationship"] == "inputTo" and ingredient["format"] == "image/jpeg"
    assert ingredient["thumbnail"]["format"] == "image/jpeg"
    labels = {a["label"]: a["data"] for a in manifest["assertions"]}
    [action] = labels["c2pa.actions.v2"]["actions"]
    assert action["action"] == "c2pa.created"
    assert action["softwareAgent"] == {"name": "stillguard-procedural", "version": "0.1.0"}
    generation = labels["com.stillguard.generation"]
    assert generation["parameters"]["seed"] == 7 and generation["decision_id"] == "dec-7f3a"


def test_one_changed_byte_of_media_data_is_reported_as_tampered_media(
    signed_clip: pathlib.Path, authority: Authority, tmp_path: pathlib.Path
) -> None:
    data = bytearray(signed_clip.read_bytes())
    start, end = _box_payload(bytes(data), b"mdat")
    data[(start + end) // 2] ^= 0x01
    copy = tmp_path / "tampered.mp4"
    copy.write_bytes(bytes(data))
    report = verify_file(copy, authority.trust_anchors())
    assert (report.status, report.tampered_part) == ("tampered", "media data")
    assert "assertion.bmffHash.mismatch" in report.validation_codes
    assert report.decision_id == CLAIMS.decision_id  # what it claimed is still shown


def test_an_edited_manifest_assertion_is_reported_as_tampered_manifest(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    data = signed_clip.read_bytes()
    assert data.count(b"dec-7f3a") >= 1
    forged = data.replace(b"dec-7f3a", b"dec-0000")
    report = verify_bytes(forged, authority.trust_anchors())
    assert report.status == "tampered"
    assert report.tampered_part in ("manifest", "signature")


def test_reencoded_copy_has_no_manifest(signed_clip: pathlib.Path, authority: Authority) -> None:
    report = verify_bytes(reencode(signed_clip.read_bytes()), authority.trust_anchors())
    assert report.status == "no_manifest" and report.ai_generated is False


@pytest.fixture(scope="module")
def foreign(provenance_dir: pathlib.Path) -> Authority:
    """Another, unrelated authority: its own signer root and its own TSA root."""
    return Authority.open(provenance_dir / "elsewhere", "other passphrase")


@pytest.fixture(scope="module")
def foreign_clip(
    foreign: Authority,
    clip_path: pathlib.Path,
    photo_path: pathlib.Path,
    provenance_dir: pathlib.Path,
) -> pathlib.Path:
    dst = provenance_dir / "foreign.mp4"
    sign_clip(foreign, clip_path, dst, photo=photo_path, claims=CLAIMS)
    return dst


def test_clip_signed_by_a_foreign_authority_is_untrusted_and_names_the_signer(
    foreign_clip: pathlib.Path, authority: Authority, foreign: Authority
) -> None:
    report = verify_file(foreign_clip, authority.trust_anchors())
    assert report.status == "untrusted"
    assert report.signer == foreign.signer_subject
    assert report.signer in report.message
    assert "signingCredential.untrusted" in report.validation_codes
    assert verify_file(foreign_clip, foreign.trust_anchors()).status == "valid"


def test_a_time_stamp_root_cannot_vouch_for_a_claim_signer(
    foreign_clip: pathlib.Path, authority: Authority, foreign: Authority
) -> None:
    # A verifier trusting the foreign TSA root (or even the foreign signer root, listed as a
    # TSA root) must still call the foreign claim signer untrusted: c2pa-rs does not keep the
    # trust kinds apart, so verify reads each list in its own context.
    mixed = TrustAnchors(
        signers=authority.root_pem, tsa=authority.tsa_root_pem + foreign.tsa_root_pem
    )
    assert verify_file(foreign_clip, mixed).status == "untrusted"
    lumped = TrustAnchors(signers=authority.root_pem, tsa=foreign.root_pem)
    assert verify_file(foreign_clip, lumped).status == "untrusted"


def test_truncated_clip_gives_a_clear_error_not_a_crash(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    data = signed_clip.read_bytes()
    for cut in (len(data) // 2, len(data) - 100, 40):
        try:
            report = verify_bytes(data[:cut], authority.trust_anchors())
        except CorruptMediaError as error:
            assert "truncated or corrupt" in str(error)
        else:
            assert report.status in ("tampered", "no_manifest"), report


def test_zero_byte_file_is_unsupported_media(tmp_path: pathlib.Path, authority: Authority) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedMediaError, match="empty"):
        verify_file(empty, authority.trust_anchors())


def test_text_file_named_mp4_is_unsupported_media(
    tmp_path: pathlib.Path, authority: Authority
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    with pytest.raises(UnsupportedMediaError, match="not an MP4"):
        verify_file(text, authority.trust_anchors())


def test_unsigned_photo_has_no_manifest(photo_path: pathlib.Path, authority: Authority) -> None:
    assert verify_file(photo_path, authority.trust_anchors()).status == "no_manifest"


def test_signing_failure_leaves_no_output_file(
    tmp_path: pathlib.Path,
    authority: Authority,
    photo_path: pathlib.Path,
    clip_path: pathlib.Path,
) -> None:
    not_a_clip = tmp_path / "clip.mp4"
    not_a_clip.write_text("nope")
    dst = tmp_path / "out.mp4"
    with pytest.raises(UnsupportedMediaError):
        sign_clip(authority, not_a_clip, dst, photo=photo_path, claims=CLAIMS)
    assert not dst.exists()
    with pytest.raises(ProvenanceError, match="does not exist"):
        sign_clip(
            authority, clip_path, tmp_path / "missing" / "out.mp4", photo=photo_path, claims=CLAIMS
        )


def test_broken_mp4_fails_signing_without_leaving_files(
    tmp_path: pathlib.Path,
    authority: Authority,
    photo_path: pathlib.Path,
    clip_path: pathlib.Path,
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip_path.read_bytes()[:300])
    dst = tmp_path / "out.mp4"
    with pytest.raises(CorruptMediaError, match="truncated"):
        sign_clip(authority, broken, dst, photo=photo_path, claims=CLAIMS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]


def test_sign_clip_returns_the_new_active_manifest_label_when_re_signing_a_signed_clip(
    signed_clip: pathlib.Path,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    import c2pa

    again = tmp_path / "again.mp4"
    label = sign_clip(authority, signed_clip, again, photo=photo_path, claims=CLAIMS)
    with open(again, "rb") as handle, c2pa.Reader("video/mp4", handle) as reader:
        store = json.loads(reader.json())
    assert label == store["active_manifest"]
    assert label != verify_file(signed_clip, authority.trust_anchors()).manifest_label
    assert verify_file(again, authority.trust_anchors()).manifest_label == label


@pytest.mark.parametrize(
    ("size", "image_format", "expected"),
    [
        ((1000, 500), "JPEG", (256, 128)),
        ((300, 900), "PNG", (85, 256)),
        ((64, 48), "JPEG", (64, 48)),
    ],
)
def test_photo_thumbnail_fits_256_px_keeps_the_aspect_ratio_and_never_enlarges(
    size: tuple[int, int], image_format: str, expected: tuple[int, int]
) -> None:
    import io

    from PIL import Image

    from provenance.sign import photo_thumbnail

    source = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(source, format=image_format)
    source.seek(0)
    with Image.open(io.BytesIO(photo_thumbnail(source))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", expected)
        red, green, blue = thumbnail.getpixel((expected[0] // 2, expected[1] // 2))
        assert abs(red - 200) < 12 and abs(green - 30) < 12 and abs(blue - 90) < 12


def test_the_label_returned_is_the_clips_own_manifest_when_the_photo_brings_one_along(
    clip_path: pathlib.Path, authority: Authority, photo_path: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    import c2pa

    # A photo that carries its own C2PA manifest: the clip's store then holds two manifests.
    signed_photo = support.sign_photo(authority, photo_path, tmp_path / "signed-photo.jpg")
    dst = tmp_path / "clip.mp4"
    label = sign_clip(authority, clip_path, dst, photo=signed_photo, claims=CLAIMS)
    with open(dst, "rb") as handle, c2pa.Reader("video/mp4", handle) as reader:
        store = json.loads(reader.json())
    assert len(store["manifests"]) == 2
    assert label == store["active_manifest"]
    report = verify_file(dst, authority.trust_anchors())
    assert (report.status, report.manifest_label) == ("valid", label)
