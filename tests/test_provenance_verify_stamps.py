"""Time stamps are judged by us against the TSA roots alone, in the same single read as the claim."""

from __future__ import annotations

import io
import pathlib
import time

import c2pa
import pytest

from provenance.authority import Authority
from provenance.manifest_store import C2PA_UUID, claim_signature, sole_embedded_store
from provenance.sign import sign_clip
from provenance.trust import trusted_time_stamp
from provenance.verify import verify_bytes, verify_file
from tests.support import signed_media as support

CLAIMS = support.CLAIMS

PASS = "stamp passphrase"


def _token(path: pathlib.Path) -> bytes:
    with open(path, "rb") as handle:
        store = sole_embedded_store(handle)
        assert store is not None
        handle.seek(0)
        with c2pa.Reader("video/mp4", handle) as reader:
            label = reader.get_active_manifest()["label"]
    (token,) = claim_signature(store, label).time_stamp_tokens
    return token


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every c2pa Reader the verifier creates, recorded."""
    made: list[object] = []
    create = c2pa.Reader.try_create

    def counting(*args: object, **kwargs: object) -> object:
        made.append(args[-1])
        return create(*args, **kwargs)

    monkeypatch.setattr(c2pa.Reader, "try_create", counting)
    return made


def test_a_valid_time_stamped_clip_is_verified_in_one_read(
    signed_clip: pathlib.Path, authority: Authority, reads: list[object]
) -> None:
    report = verify_file(signed_clip, authority.trust_anchors())
    assert report.status == "valid" and "timeStamp.trusted" in report.validation_codes
    assert len(reads) == 1


def test_the_stamp_token_is_trusted_under_its_tsa_root_and_never_under_a_signer_root(
    signed_clip: pathlib.Path, authority: Authority, tmp_path: pathlib.Path
) -> None:
    token = _token(signed_clip)
    stamp = trusted_time_stamp(token, authority.tsa_root_pem)
    assert stamp is not None
    assert stamp.serial_number == authority.time_stamp_authority().cert.serial_number
    assert trusted_time_stamp(token, authority.root_pem) is None
    assert trusted_time_stamp(token, "") is None
    other = Authority.open(tmp_path / "other", PASS)
    assert trusted_time_stamp(token, other.tsa_root_pem) is None


def test_a_stamp_with_a_forged_signature_or_garbage_is_not_trusted(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    token = bytearray(_token(signed_clip))
    token[-5] ^= 0x01  # inside the TSA's signature, the token's last field
    assert trusted_time_stamp(bytes(token), authority.tsa_root_pem) is None
    assert trusted_time_stamp(b"\x30\x03\x02\x01\x01", authority.tsa_root_pem) is None
    with pytest.raises(ValueError):
        claim_signature(b"not a manifest store", "urn:c2pa:anything")


def test_a_second_c2pa_box_anywhere_in_the_file_leaves_the_stamp_to_c2pa(
    signed_clip: pathlib.Path, authority: Authority, reads: list[object]
) -> None:
    # The stamp we check must be the one c2pa validated: with a second C2PA box type in the file
    # we cannot tell, so the verifier asks c2pa in a TSA-only context instead.
    data = signed_clip.read_bytes() + (24).to_bytes(4, "big") + b"free" + C2PA_UUID
    with open(signed_clip, "rb") as handle:
        assert sole_embedded_store(handle) is not None
    assert sole_embedded_store(io.BytesIO(data)) is None
    report = verify_bytes(data, authority.trust_anchors())
    assert report.status == "valid" and "timeStamp.trusted" in report.validation_codes
    # The claim read, c2pa's own TSA-only read for the stamp, then the claim read with its names.
    assert len(reads) == 3


def test_an_untrusted_stamp_cannot_keep_an_expired_signer_valid(
    tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    # The signer is ours, but its clip was stamped by a TSA whose root the verifier does not
    # trust: once the signing certificate expires the stamp must count for nothing.
    foreign = Authority.open(tmp_path / "foreign", PASS)
    home = tmp_path / "home"
    Authority.open(home, PASS)
    ours = Authority.open(home, PASS, tsa_url=foreign.time_stamp_url())
    ours.rotate(days=2 / 86400)
    expires = ours.signing_certificate.not_valid_after_utc.timestamp()
    stamped = tmp_path / "stamped.mp4"
    sign_clip(ours, clip_path, stamped, photo=photo_path, claims=CLAIMS)
    assert verify_file(stamped, ours.trust_anchors()).status == "valid"
    time.sleep(max(0.0, expires - time.time()) + 1.1)

    expired = verify_file(stamped, ours.trust_anchors())
    assert expired.status == "untrusted" and "expired" in expired.message
    assert "timeStamp.trusted" not in expired.validation_codes
    # The foreign TSA root, listed where it belongs, does vouch for the stamp.
    mixed = ours.trust_anchors()
    assert verify_file(stamped, type(mixed)(mixed.signers, foreign.tsa_root_pem)).status == "valid"


def test_the_one_read_report_names_signer_and_issuer_as_c2pa_does(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    fast = verify_file(signed_clip, authority.trust_anchors())
    named_by_c2pa = verify_file(signed_clip, authority.root_pem)  # no TSA roots: crJSON's names
    assert fast.signer == named_by_c2pa.signer == authority.signer_subject
    assert (
        fast.signer_issuer
        == named_by_c2pa.signer_issuer
        == "CN=Stillguard Signing CA, O=Stillguard"
    )


def test_a_signed_photo_has_its_stamp_judged_by_c2pa_in_a_tsa_only_read(
    authority: Authority, photo_path: pathlib.Path, tmp_path: pathlib.Path, reads: list[object]
) -> None:
    # Only MP4 stores are taken apart here; other formats keep the two-context reading.
    signed = support.sign_photo(authority, photo_path, tmp_path / "photo.jpg")
    report = verify_file(signed, authority.trust_anchors())
    assert report.status == "valid" and "timeStamp.trusted" in report.validation_codes
    assert report.signer == authority.signer_subject
    assert len(reads) == 2
    lumped = type(authority.trust_anchors())(signers="", tsa=authority.root_pem)
    assert verify_file(signed, lumped).status == "untrusted"


_DAMAGED_STAMP_CODES = ("timeStamp.mismatch", "timeStamp.malformed")


def test_a_damaged_time_stamp_is_a_named_warning_never_hidden(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    data = signed_clip.read_bytes()
    token = _token(signed_clip)
    start = data.index(token)
    damaged = 0
    for offset in range(8, len(token), max(1, len(token) // 24)):
        flipped = bytearray(data)
        flipped[start + offset] ^= 0x01
        report = verify_bytes(bytes(flipped), authority.trust_anchors())
        codes = [c for c in report.validation_codes if c in _DAMAGED_STAMP_CODES]
        if not codes:
            continue
        damaged += 1
        assert report.status != "valid" or not report.time_stamped
        assert report.warnings and "time_stamp_damaged" in report.warnings[0], report
        assert codes[0] in report.warnings[0] and "time stamp" in report.message
    assert damaged, "no flipped byte damaged the stamp: nothing was tested"
