"""Verify on bad input that the existing tests did not cover: forged ingredients, early certificates."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from provenance.certificates import cert_pem, make_end_entity, make_intermediate, make_root
from provenance.errors import ProvenanceError, UnsupportedMediaError
from provenance.sign import sign_clip
from provenance.signers import LocalKeySigner
from provenance.verify import verify_bytes
from tests.support import signed_media as support

CLAIMS, jpeg_bytes = support.CLAIMS, support.jpeg_bytes

INGREDIENT_MARK = (7, 201, 99)  # an unusual colour, so the ingredient thumbnail's bytes are unique


def test_a_forged_ingredient_thumbnail_is_reported_as_a_tampered_manifest(
    authority, clip_path: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(INGREDIENT_MARK, (64, 48)))
    signed = tmp_path / "signed.mp4"
    sign_clip(authority, clip_path, signed, photo=photo, claims=CLAIMS)
    data = bytearray(signed.read_bytes())
    # The ingredient assertion binds its thumbnail by a hashed URI: change one byte of the
    # thumbnail inside the manifest store (the photo's JPEG, re-encoded by sign_clip).
    thumbnail = data.find(b"\xff\xd8\xff", data.find(b"c2pa.thumbnail.ingredient"))
    assert thumbnail > 0
    data[thumbnail + 200] ^= 0x01
    report = verify_bytes(bytes(data), authority.trust_anchors())
    assert report.status == "tampered", report.message
    assert report.tampered_part in ("manifest", "signature")
    assert any("hashedURI" in code or "mismatch" in code for code in report.validation_codes)


def _future_signer(tmp_path: pathlib.Path) -> tuple[LocalKeySigner, str]:
    """A signer whose certificate only becomes valid tomorrow, and its root as PEM."""
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = make_root(root_key, "Early Root")
    inter = make_intermediate(inter_key, "Early Intermediate", root, root_key)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    leaf = make_end_entity(
        leaf_key, "Early Signer", inter, inter_key, purpose="claim_signing", now=tomorrow
    )
    chain = cert_pem(leaf) + cert_pem(inter)
    return LocalKeySigner(alg="es256", chain_pem=chain, private_key=leaf_key), cert_pem(root)


def test_a_not_yet_valid_signing_certificate_is_refused_at_signing_with_the_reason(
    clip_path: pathlib.Path, photo_path: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    # c2pa-rs checks the certificate's validity period when it signs, so such a clip cannot
    # be made with our signer; the error says why and nothing is left behind.
    signer, _ = _future_signer(tmp_path)
    signed = tmp_path / "early.mp4"
    with pytest.raises(ProvenanceError, match="not valid at time of signing"):
        sign_clip(signer, clip_path, signed, photo=photo_path, claims=CLAIMS)
    assert not signed.exists()


@pytest.mark.parametrize("payload", [b"\x00" * 64, b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"%PDF-1.7\n"])
def test_other_binary_formats_get_a_clear_error(authority, payload: bytes) -> None:
    with pytest.raises(UnsupportedMediaError):
        verify_bytes(payload * 8, authority.trust_anchors())
