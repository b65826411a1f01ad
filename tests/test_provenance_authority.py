"""The signing authority: created on first use, reopened, keys encrypted, C2PA-shaped certificates."""

from __future__ import annotations

import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance.authority import Authority
from provenance.certificates import DOCUMENT_SIGNING, check_claim_signing_profile, load_certs
from provenance.errors import AuthorityError, CertificateProfileError

PASS = "s3cret passphrase"


def test_authority_is_created_on_first_use_and_reopens_with_the_same_certificates(
    tmp_path: pathlib.Path,
) -> None:
    first = Authority.open(tmp_path, PASS)
    again = Authority.open(tmp_path, PASS)
    assert (tmp_path / "authority" / "authority.json").exists()
    assert first.root_pem == again.root_pem and first.chain_pem == again.chain_pem
    chain = load_certs(first.chain_pem)
    root = load_certs(first.root_pem)
    assert len(chain) == 2 and len(root) == 1
    assert chain[0].issuer == chain[1].subject and chain[1].issuer == root[0].subject
    assert first.tsa_root_pem != first.root_pem  # time-stamp root kept apart from signer root


def test_wrong_passphrase_is_refused_with_an_authority_error(tmp_path: pathlib.Path) -> None:
    Authority.open(tmp_path, PASS)
    with pytest.raises(AuthorityError, match="wrong key passphrase"):
        Authority.open(tmp_path, "not the passphrase")


def _unlucky_wrong_passphrase(key_pem: bytes) -> str:
    """A wrong passphrase whose decryption happens to pass the padding check (about 1 in 256):
    the garbage it yields then fails as malformed key data, not as a bad decrypt."""
    for attempt in range(20_000):
        candidate = f"not the passphrase {attempt}"
        try:
            serialization.load_pem_private_key(key_pem, candidate.encode())
        except ValueError as error:
            if "decrypt" not in str(error).lower() and "password" not in str(error).lower():
                return candidate
    raise AssertionError("no such passphrase in 20,000 tries")


def test_a_wrong_passphrase_is_named_even_when_the_decryption_yields_garbage(
    tmp_path: pathlib.Path,
) -> None:
    # once in ~256 runs a wrong passphrase was reported as "private key ... is corrupt"
    Authority.open(tmp_path, PASS)
    signing = next((tmp_path / "authority" / "signing").glob("*.key.pem"))
    unlucky = _unlucky_wrong_passphrase(signing.read_bytes())
    with pytest.raises(AuthorityError, match="STILLGUARD_KEY_PASSPHRASE"):
        Authority.open(tmp_path, unlucky)


def test_empty_passphrase_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(AuthorityError, match="passphrase is required"):
        Authority.open(tmp_path, "")


def test_private_keys_are_encrypted_at_rest(tmp_path: pathlib.Path) -> None:
    Authority.open(tmp_path, PASS)
    keys = sorted((tmp_path / "authority").rglob("*.key.pem"))
    assert len(keys) == 5  # root, intermediate, signing, TSA root, TSA
    for key in keys:
        text = key.read_text()
        assert "BEGIN ENCRYPTED PRIVATE KEY" in text
        assert "BEGIN PRIVATE KEY" not in text and "BEGIN EC PRIVATE KEY" not in text
        assert key.stat().st_mode & 0o077 == 0


def test_missing_or_corrupt_key_gives_an_actionable_authority_error(tmp_path: pathlib.Path) -> None:
    authority = Authority.open(tmp_path, PASS)
    key = authority.directory / "signing" / f"{authority.signing_id}.key.pem"
    key.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    with pytest.raises(AuthorityError, match="corrupt"):
        Authority.open(tmp_path, PASS)
    key.unlink()
    with pytest.raises(AuthorityError, match="missing"):
        Authority.open(tmp_path, PASS)


def test_incomplete_authority_folder_is_not_silently_replaced(tmp_path: pathlib.Path) -> None:
    (tmp_path / "authority").mkdir()
    (tmp_path / "authority" / "root.cert.pem").write_text("x")
    with pytest.raises(AuthorityError, match="incomplete or corrupt"):
        Authority.open(tmp_path, PASS)


def test_signing_certificate_has_the_key_usages_c2pa_requires(tmp_path: pathlib.Path) -> None:
    leaf = Authority.open(tmp_path, PASS).signing_certificate
    check_claim_signing_profile(leaf)
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus and DOCUMENT_SIGNING in ekus
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_profile_check_names_the_rule_a_ca_certificate_breaks(tmp_path: pathlib.Path) -> None:
    intermediate = load_certs(Authority.open(tmp_path, PASS).chain_pem)[1]
    with pytest.raises(CertificateProfileError, match="end entity"):
        check_claim_signing_profile(intermediate)


def test_export_trust_writes_signer_and_tsa_roots_separately(tmp_path: pathlib.Path) -> None:
    authority = Authority.open(tmp_path / "home", PASS)
    paths = authority.export_trust(tmp_path / "trust")
    assert paths["signers"].read_text() == authority.root_pem
    assert paths["tsa"].read_text() == authority.tsa_root_pem
