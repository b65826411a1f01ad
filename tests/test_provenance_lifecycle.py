"""Issue 3: time stamps that outlive the signing certificate, rotation, KMS-style callback signing."""

from __future__ import annotations

import pathlib
import time
import urllib.request

import pytest
from asn1crypto import tsp  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec

from provenance.authority import Authority
from provenance.errors import ProvenanceError
from provenance.sign import sign_clip
from provenance.signers import CallbackSigner, sign_with_key
from provenance.tsa import REQUEST_CONTENT_TYPE, TimeStampResponse
from provenance.verify import verify_file
from tests.support import signed_media as support

CLAIMS = support.CLAIMS

PASS = "lifecycle passphrase"


@pytest.fixture
def fresh(tmp_path: pathlib.Path) -> Authority:
    return Authority.open(tmp_path / "home", PASS)


def test_time_stamped_clip_stays_trusted_after_its_signing_certificate_expires(
    fresh: Authority, tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    # A signing certificate that lives two seconds, then the clock moves past it.
    fresh.rotate(days=2 / 86400)
    expires = fresh.signing_certificate.not_valid_after_utc.timestamp()
    stamped, bare = tmp_path / "stamped.mp4", tmp_path / "bare.mp4"
    sign_clip(fresh, clip_path, stamped, photo=photo_path, claims=CLAIMS)
    sign_clip(fresh.signer(time_stamp=False), clip_path, bare, photo=photo_path, claims=CLAIMS)
    assert verify_file(bare, fresh.trust_anchors()).status == "valid"
    time.sleep(max(0.0, expires - time.time()) + 1.1)

    after = verify_file(stamped, fresh.trust_anchors())
    assert after.status == "valid", after.message
    assert "timeStamp.trusted" in after.validation_codes
    expired = verify_file(bare, fresh.trust_anchors())
    assert expired.status == "untrusted" and "expired" in expired.message
    # Without the TSA roots a verifier cannot rely on the stamp: judged at today's date.
    assert verify_file(stamped, fresh.root_pem).status == "untrusted"


def test_rotation_issues_a_new_signer_and_old_clips_stay_valid(
    fresh: Authority, tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    old_subject, old_root = fresh.signer_subject, fresh.root_pem
    before = tmp_path / "before.mp4"
    sign_clip(fresh, clip_path, before, photo=photo_path, claims=CLAIMS)
    new_id = fresh.rotate()
    after = tmp_path / "after.mp4"
    sign_clip(fresh, clip_path, after, photo=photo_path, claims=CLAIMS)

    reopened = Authority.open(fresh.directory.parent, PASS)
    assert reopened.signing_id == new_id and reopened.signer_subject != old_subject
    assert reopened.root_pem == old_root
    assert [h["id"] for h in reopened.describe()["history"]] == ["signing-0001", new_id]
    old_report = verify_file(before, reopened.trust_anchors())
    new_report = verify_file(after, reopened.trust_anchors())
    assert (old_report.status, new_report.status) == ("valid", "valid")
    assert (old_report.signer, new_report.signer) == (old_subject, reopened.signer_subject)


def test_callback_signer_signs_with_a_key_the_process_never_hands_to_the_signer(
    fresh: Authority, tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    # The "KMS": holds the private key and answers Sign(data) with a DER ECDSA signature.
    kms_key = ec.generate_private_key(ec.SECP256R1())
    calls: list[int] = []
    kms_sign = sign_with_key(kms_key, "es256")

    def sign(data: bytes) -> bytes:
        calls.append(len(data))
        return kms_sign(data)

    chain = fresh.certify_external_key(kms_key.public_key(), name="Stillguard KMS Signer")
    signer = CallbackSigner(alg="es256", chain_pem=chain, sign=sign, tsa_url=fresh.time_stamp_url())
    dst = tmp_path / "kms.mp4"
    sign_clip(signer, clip_path, dst, photo=photo_path, claims=CLAIMS)
    report = verify_file(dst, fresh.trust_anchors())
    assert report.status == "valid", report.message
    assert report.signer == "CN=Stillguard KMS Signer, O=Stillguard"
    assert calls, "the callback was never asked to sign"


def test_failing_callback_signer_leaves_no_output(
    fresh: Authority, tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    def refuse(data: bytes) -> bytes:
        raise RuntimeError("KMS unavailable")

    signer = CallbackSigner(alg="es256", chain_pem=fresh.chain_pem, sign=refuse)
    dst = tmp_path / "out.mp4"
    with pytest.raises(ProvenanceError):
        sign_clip(signer, clip_path, dst, photo=photo_path, claims=CLAIMS)
    assert not dst.exists() and not list(tmp_path.glob(".out.mp4*"))


@pytest.mark.parametrize("alg", ["ed25519", "ps256", "es384"])
def test_other_signing_algorithms_verify_as_valid(
    alg: str, tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    authority = Authority.open(tmp_path / "home", PASS, alg=alg)  # type: ignore[arg-type]
    dst = tmp_path / f"{alg}.mp4"
    sign_clip(authority, clip_path, dst, photo=photo_path, claims=CLAIMS)
    assert verify_file(dst, authority.trust_anchors()).status == "valid"


def test_unreachable_time_stamp_authority_fails_signing_closed(
    tmp_path: pathlib.Path, clip_path: pathlib.Path, photo_path: pathlib.Path
) -> None:
    authority = Authority.open(tmp_path / "home", PASS, tsa_url="http://127.0.0.1:9/tsa")
    dst = tmp_path / "out.mp4"
    with pytest.raises(ProvenanceError):
        sign_clip(authority, clip_path, dst, photo=photo_path, claims=CLAIMS)
    assert not dst.exists()


def test_loopback_tsa_answers_rfc3161_requests_and_rejects_garbage(fresh: Authority) -> None:
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x01" * 32,
            },
            "nonce": 12345,
            "cert_req": True,
        }
    ).dump()

    def post(body: bytes) -> TimeStampResponse:
        http = urllib.request.Request(
            fresh.time_stamp_url(), data=body, headers={"Content-Type": REQUEST_CONTENT_TYPE}
        )
        with urllib.request.urlopen(http, timeout=5) as answer:
            return TimeStampResponse.load(answer.read())

    granted = post(request)
    assert granted["status"]["status"].native == "granted"
    info = granted["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 12345
    assert post(b"not asn.1 at all")["status"]["status"].native == "rejection"
