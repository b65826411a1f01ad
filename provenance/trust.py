"""Trust anchors a verifier uses, kept in two separate lists: claim-signer roots and TSA roots.

c2pa-rs does not enforce `trust_kind` (a root listed for time stamps also makes claim signers
trusted, see DEPENDENCIES.md), so we never load both lists into one validation context. The
verifier reads a file once, trusting claim signers only, and checks the RFC 3161 token's chain
here against the TSA roots only (`trusted_time_stamp`); when that check cannot vouch for the
stamp, c2pa judges it in a context of its own (`tsa_context`, see verify.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pathlib
from dataclasses import dataclass

import c2pa  # type: ignore[import-untyped]
from asn1crypto import cms, core, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance.certificates import load_certs
from provenance.errors import ProvenanceError

_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_CLOCK_SKEW = dt.timedelta(minutes=5)
_MAX_CHAIN = 6


@dataclass(frozen=True)
class TrustAnchors:
    """PEM bundles of trusted roots: `signers` for C2PA claims, `tsa` for RFC 3161 time stamps."""

    signers: str
    tsa: str = ""

    @classmethod
    def coerce(cls, value: str | TrustAnchors) -> TrustAnchors:
        """Accept a bare PEM bundle (claim-signer roots only) or a TrustAnchors."""
        return value if isinstance(value, TrustAnchors) else cls(signers=value)

    @classmethod
    def from_files(cls, signers: pathlib.Path, tsa: pathlib.Path | None = None) -> TrustAnchors:
        """Load the bundles `export_trust` wrote (or any PEM bundle, e.g. the C2PA trust list)."""
        try:
            return cls(
                signers=signers.read_text(),
                tsa=tsa.read_text() if tsa is not None and tsa.exists() else "",
            )
        except OSError as error:
            raise ProvenanceError(f"cannot read trust anchors: {error}") from error

    def __add__(self, other: TrustAnchors) -> TrustAnchors:
        return TrustAnchors(signers=self.signers + other.signers, tsa=self.tsa + other.tsa)


def _check_pem(pem: str, what: str) -> None:
    try:
        load_certs(pem)
    except ValueError as error:
        raise ProvenanceError(
            f"the {what} trust anchors are not a valid PEM bundle: {error}"
        ) from error


@functools.lru_cache(maxsize=64)
def validation_context(roots: str, *, time_stamp_trust: bool) -> c2pa.Context:
    """A c2pa validation context trusting exactly `roots` (cached: building one parses PEMs)."""
    _check_pem(roots, "trust")
    settings: dict = {
        "verify": {
            "verify_trust": True,
            "verify_timestamp_trust": time_stamp_trust,
            # A file names the URL of a remote manifest: fetching it would let any uploader
            # make this server send requests of their choosing (issue 15, finding 10).
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
        }
    }
    if roots.strip():
        settings["trust"] = {"trust_anchors": roots}
    return c2pa.Context.from_dict(settings)


def claim_context(signer_roots: str) -> c2pa.Context:
    """Trusts only claim signers under `signer_roots`; stamps checked for integrity, not trust.

    Used once the stamp's trust has been established against the TSA roots in a separate read
    (tsa_context), so a TSA root can never vouch for a claim signer.
    """
    return validation_context(signer_roots, time_stamp_trust=False)


def signer_context(signer_roots: str) -> c2pa.Context:
    """Trusts only `signer_roots`, with stamp trust on and no TSA root present.

    Any time stamp therefore counts for nothing and the signer is judged at the current time:
    the safe reading when the caller gave no TSA roots or the stamp is not trusted under them.
    """
    return validation_context(signer_roots, time_stamp_trust=True)


def tsa_context(tsa_roots: str) -> c2pa.Context:
    """Trusts only time-stamp authorities under `tsa_roots` (claim signers read untrusted)."""
    return validation_context(tsa_roots, time_stamp_trust=True)


@dataclass(frozen=True)
class TrustedStamp:
    """An RFC 3161 token that verified and chains to a TSA root: when, and by which certificate."""

    time: dt.datetime
    serial_number: int
    issuer: x509.Name


def trusted_time_stamp(token: bytes, tsa_roots: str) -> TrustedStamp | None:
    """The token's time and signer if its signature verifies and its TSA chains to `tsa_roots`.

    Only the TSA roots are consulted, so a claim-signer root can never vouch for a stamp. None
    means "not shown trusted here" (malformed, unsupported or untrusted): the caller then asks
    c2pa in a TSA-only context, so this check may be strict without ever trusting too much.
    """
    roots = _roots(tsa_roots)
    if not roots:
        return None
    try:
        return _check_token(token, roots)
    except (ValueError, TypeError, KeyError, IndexError, InvalidSignature, UnsupportedAlgorithm):
        return None


@functools.lru_cache(maxsize=64)
def _roots(pem: str) -> tuple[x509.Certificate, ...]:
    return tuple(load_certs(pem)) if pem.strip() else ()


def _check_token(token: bytes, roots: tuple[x509.Certificate, ...]) -> TrustedStamp | None:
    content_info = cms.ContentInfo.load(token, strict=True)
    if content_info["content_type"].native != "signed_data":
        return None
    signed = content_info["content"]
    encapsulated = signed["encap_content_info"]
    if encapsulated["content_type"].native != "tst_info" or len(signed["signer_infos"]) != 1:
        return None
    content = encapsulated["content"].contents
    gen_time = tsp.TSTInfo.load(content)["gen_time"].native
    if gen_time > dt.datetime.now(dt.UTC) + _CLOCK_SKEW:
        return None  # a stamp from the future proves nothing
    signer_info = signed["signer_infos"][0]
    certificates = [
        x509.load_der_x509_certificate(choice.chosen.dump())
        for choice in signed["certificates"] or []
        if choice.name == "certificate"
    ]
    tsa = _signing_certificate(signer_info["sid"], certificates)
    if tsa is None or not _signed_attributes_hold(signer_info, content, tsa):
        return None
    try:
        ekus = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return None
    if not ekus.critical or ExtendedKeyUsageOID.TIME_STAMPING not in ekus.value:
        return None  # RFC 3161 2.3: a critical extended key usage naming timeStamping
    if not _chains_to(tsa, certificates, roots, gen_time):
        return None
    return TrustedStamp(time=gen_time, serial_number=tsa.serial_number, issuer=tsa.issuer)


def _signing_certificate(
    sid: cms.SignerIdentifier, certs: list[x509.Certificate]
) -> x509.Certificate | None:
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            chosen = sid.chosen
            if (
                chosen["serial_number"].native == cert.serial_number
                and chosen["issuer"].dump() == cert.issuer.public_bytes()
            ):
                return cert
        elif sid.name == "subject_key_identifier":
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            except x509.ExtensionNotFound:
                continue
            if ski.digest == sid.chosen.native:
                return cert
    return None


def _signed_attributes_hold(
    signer_info: cms.SignerInfo, content: bytes, tsa: x509.Certificate
) -> bool:
    """The signed attributes bind the TSTInfo (content type, digest) and carry a good signature."""
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    signed_attrs = signer_info["signed_attrs"]
    if digest_name not in _DIGESTS or isinstance(signed_attrs, core.Void):
        return False
    attributes = {a["type"].native: a["values"] for a in signed_attrs}
    digest = hashlib.new(digest_name, content).digest()
    if [v.native for v in attributes.get("content_type", [])] != ["tst_info"]:
        return False
    if [v.native for v in attributes.get("message_digest", [])] != [digest]:
        return False
    # The signature covers the attributes' DER as a SET (tag 0x31), not as the [0] IMPLICIT
    # field they are stored as; swap the one tag byte rather than re-encode (RFC 5652 5.4).
    stored = signed_attrs.dump()
    signed_bytes = b"\x31" + stored[1:]
    signature = signer_info["signature"].native
    algorithm = signer_info["signature_algorithm"].signature_algo
    key = tsa.public_key()
    chosen_hash = _DIGESTS[digest_name]
    if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, signed_bytes, ec.ECDSA(chosen_hash))
    elif algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, signed_bytes, padding.PKCS1v15(), chosen_hash)
    elif algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, signed_bytes)
    else:
        return False  # e.g. RSA-PSS: left to c2pa
    return True


def chains_to(
    leaf: x509.Certificate, pool: list[x509.Certificate], roots_pem: str, when: dt.datetime
) -> bool:
    """`leaf` is issued, through CA certificates in `pool`, by a root in `roots_pem`, `when`."""
    roots = _roots(roots_pem)
    return bool(roots) and _chains_to(leaf, pool, roots, when)


def _chains_to(
    leaf: x509.Certificate,
    pool: list[x509.Certificate],
    roots: tuple[x509.Certificate, ...],
    when: dt.datetime,
) -> bool:
    """`leaf` is issued, through CA certificates in `pool`, by one of `roots`, all valid `when`."""
    current = leaf
    for _ in range(_MAX_CHAIN):
        if not current.not_valid_before_utc <= when <= current.not_valid_after_utc:
            return False
        if current in roots:
            return True
        issuer = _issued_by(current, roots) or _issued_by(
            current, [c for c in pool if c != current and _is_ca(c)]
        )
        if issuer is None:
            return False
        if issuer in roots:
            return issuer.not_valid_before_utc <= when <= issuer.not_valid_after_utc
        current = issuer
    return False


def _issued_by(
    cert: x509.Certificate, candidates: tuple[x509.Certificate, ...] | list[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        return candidate
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
