"""Signing and checking audit-chain checkpoints with the authority's checkpoint certificate.

A checkpoint statement (bytes) is signed with ECDSA P-256/SHA-256 by the key whose certificate
carries the audit-checkpoint EKU, and the signature is time-stamped (RFC 3161) by the
authority's TSA: the token's message imprint is the SHA-256 of the signature, so it proves the
signature existed at the stamped time. A checker needs only the trust anchors (signer roots and
TSA roots); it never needs the database or the authority's keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass

from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from provenance.authority import Authority
from provenance.certificates import AUDIT_CHECKPOINT_SIGNING, load_certs
from provenance.errors import ProvenanceError
from provenance.trust import TrustAnchors, chains_to, trusted_time_stamp
from provenance.tsa import REPLY_CONTENT_TYPE, REQUEST_CONTENT_TYPE

TSA_TIMEOUT_S = 10.0


class CheckpointSignatureError(ProvenanceError, ValueError):
    """A checkpoint's signature, certificate or time stamp does not hold; the text says which."""


@dataclass(frozen=True)
class SignedStatement:
    """A signature over a statement, the certificate chain that made it, and its time stamp."""

    signature: bytes
    chain_pem: str
    time_stamp: bytes


class CheckpointSigner:
    """Signs checkpoint statements with the authority's checkpoint key, stamped by its TSA."""

    def __init__(self, authority: Authority) -> None:
        self._key, self._chain_pem = authority.checkpoint_credentials()
        self._tsa_url = authority.time_stamp_url()
        if not isinstance(self._key, ec.EllipticCurvePrivateKey):
            raise CheckpointSignatureError("the checkpoint key must be an EC key")

    def sign(self, statement: bytes) -> SignedStatement:
        """Sign `statement` and time-stamp the signature."""
        signature = self._key.sign(statement, ec.ECDSA(hashes.SHA256()))
        return SignedStatement(
            signature, self._chain_pem, request_time_stamp(self._tsa_url, signature)
        )


def request_time_stamp(tsa_url: str, data: bytes) -> bytes:
    """An RFC 3161 token (DER ContentInfo) over SHA-256(`data`) from the TSA at `tsa_url`."""
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(data).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    http_request = urllib.request.Request(
        tsa_url, data=request.dump(), headers={"Content-Type": REQUEST_CONTENT_TYPE}
    )
    try:
        with urllib.request.urlopen(http_request, timeout=TSA_TIMEOUT_S) as answer:
            if answer.headers.get("Content-Type") != REPLY_CONTENT_TYPE:
                raise CheckpointSignatureError(f"time-stamp authority {tsa_url} answered no reply")
            response = tsp.TimeStampResp.load(answer.read())
    except (urllib.error.URLError, OSError) as error:
        raise CheckpointSignatureError(f"time-stamp authority {tsa_url}: {error}") from error
    if response["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise CheckpointSignatureError(f"time-stamp authority {tsa_url} refused the request")
    token = response["time_stamp_token"]
    if _tst_info(token)["nonce"].native != nonce:
        raise CheckpointSignatureError(f"time-stamp authority {tsa_url} answered another request")
    return token.dump()


def _tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    return token["content"]["encap_content_info"]["content"].parsed


class CheckpointVerifier:
    """Checks checkpoint signatures against trust anchors alone (signer roots, TSA roots)."""

    def __init__(self, trust: TrustAnchors) -> None:
        self._trust = trust

    def verify(
        self, statement: bytes, signature: bytes, chain_pem: str, time_stamp: bytes
    ) -> dt.datetime:
        """The stamped time of a good signature; CheckpointSignatureError names what fails."""
        stamp = trusted_time_stamp(time_stamp, self._trust.tsa)
        leaf = self._signer_certificate(chain_pem, stamp.time if stamp else dt.datetime.now(dt.UTC))
        if stamp is None:
            raise CheckpointSignatureError(
                "its time stamp is malformed or not from a trusted time-stamp authority"
            )
        try:
            imprint = _tst_info(cms.ContentInfo.load(time_stamp))["message_imprint"]
            stamped = imprint["hashed_message"].native
            digest_name = imprint["hash_algorithm"]["algorithm"].native
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointSignatureError(f"its time stamp cannot be read ({error})") from error
        if digest_name != "sha256" or stamped != hashlib.sha256(signature).digest():
            raise CheckpointSignatureError("its time stamp covers another signature")
        try:
            leaf.public_key().verify(signature, statement, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
        except (InvalidSignature, TypeError, AttributeError) as error:
            raise CheckpointSignatureError(
                "its signature does not match the statement (the checkpoint was altered)"
            ) from error
        return stamp.time

    def _signer_certificate(self, chain_pem: str, when: dt.datetime) -> x509.Certificate:
        try:
            chain = load_certs(chain_pem)
        except ValueError as error:
            raise CheckpointSignatureError(
                f"its certificate chain cannot be read ({error})"
            ) from error
        if not chain:
            raise CheckpointSignatureError("it carries no certificate")
        leaf = chain[0]
        try:
            ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            ekus = x509.ExtendedKeyUsage([])
        if AUDIT_CHECKPOINT_SIGNING not in ekus:
            raise CheckpointSignatureError(
                f"it is signed by {leaf.subject.rfc4514_string()}, which is not an audit "
                "checkpoint signer"
            )
        if not chains_to(leaf, chain[1:], self._trust.signers, when):
            raise CheckpointSignatureError(
                f"it is signed by {leaf.subject.rfc4514_string()}, whose certificate does not "
                "chain to this authority's root (signed by someone else)"
            )
        return leaf
