"""Signers: who produces the claim signature. A local key, or a callback into a KMS/HSM.

Both hand c2pa-python the same three things: the algorithm, the certificate chain (leaf first,
then intermediates, never the root) and an optional RFC 3161 time-stamp authority URL.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field

import c2pa  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from provenance.certificates import PrivateKey, SigningAlg, plain_key_pem
from provenance.errors import ProvenanceError

_C2PA_ALGS: dict[str, c2pa.C2paSigningAlg] = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}
_EC_COORDINATE_BYTES = {"es256": 32, "es384": 48}


class ClipSigner(abc.ABC):
    """Something that can sign a C2PA claim: algorithm, certificate chain, time-stamp URL."""

    alg: SigningAlg
    chain_pem: str
    tsa_url: str | None

    @abc.abstractmethod
    def c2pa_signer(self) -> c2pa.Signer:
        """A fresh c2pa-python Signer (the caller closes it after one Builder.sign)."""


@dataclass(frozen=True)
class LocalKeySigner(ClipSigner):
    """Signs with a private key held in this process (decrypted from the authority's key file)."""

    alg: SigningAlg
    chain_pem: str
    private_key: PrivateKey = field(repr=False)
    tsa_url: str | None = None

    def c2pa_signer(self) -> c2pa.Signer:
        info = c2pa.C2paSignerInfo(
            self.alg.encode("ascii"),
            self.chain_pem.encode("ascii"),
            plain_key_pem(self.private_key),
            self.tsa_url,
        )
        try:
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as error:
            raise ProvenanceError(
                f"the signing key or certificate chain was refused: {error}"
            ) from error


@dataclass(frozen=True)
class CallbackSigner(ClipSigner):
    """Signs by calling `sign(data) -> signature`, e.g. a KMS or HSM; the key never enters here.

    `signature_format` says what the callback returns: "der" (an ASN.1 ECDSA signature, what most
    KMS APIs return) or "raw" (r|s concatenated, what COSE needs). RSA-PSS and Ed25519 signatures
    have one form only and pass through unchanged.
    """

    alg: SigningAlg
    chain_pem: str
    sign: Callable[[bytes], bytes] = field(repr=False)
    tsa_url: str | None = None
    signature_format: str = "der"

    def _cose_signature(self, data: bytes) -> bytes:
        signature = self.sign(data)
        size = _EC_COORDINATE_BYTES.get(self.alg)
        if size is None or self.signature_format == "raw":
            return signature
        r, s = decode_dss_signature(signature)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def c2pa_signer(self) -> c2pa.Signer:
        try:
            return c2pa.Signer.from_callback(
                self._cose_signature, _C2PA_ALGS[self.alg], self.chain_pem, self.tsa_url
            )
        except c2pa.C2paError as error:
            raise ProvenanceError(f"the callback signer was refused: {error}") from error


def sign_with_key(key: PrivateKey, alg: SigningAlg) -> Callable[[bytes], bytes]:
    """A signing callback over a key object, shaped like a KMS `Sign` call (DER for ECDSA)."""

    def sign(data: bytes) -> bytes:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            digest = hashes.SHA384() if alg == "es384" else hashes.SHA256()
            return key.sign(data, ec.ECDSA(digest))
        if isinstance(key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return key.sign(data, pss, hashes.SHA256())
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        raise ProvenanceError(f"cannot sign with a key of type {type(key).__name__}")

    return sign
