"""Trust anchors a verifier uses, kept in two separate lists: claim-signer roots and TSA roots.

c2pa-rs does not enforce `trust_kind` (a root listed for time stamps also makes claim signers
trusted, see DEPENDENCIES.md), so we never load both lists into one validation context: the
verifier reads a file once per list and combines the answers itself (see verify.py).
"""

from __future__ import annotations

import functools
import pathlib
from dataclasses import dataclass

import c2pa  # type: ignore[import-untyped]

from provenance.certificates import load_certs
from provenance.errors import ProvenanceError


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
            raise ProvenanceError(f"cannot read trust anchors: {error}")

    def __add__(self, other: TrustAnchors) -> TrustAnchors:
        return TrustAnchors(signers=self.signers + other.signers, tsa=self.tsa + other.tsa)


def _check_pem(pem: str, what: str) -> None:
    try:
        load_certs(pem)
    except ValueError as error:
        raise ProvenanceError(f"the {what} trust anchors are not a valid PEM bundle: {error}")


@functools.lru_cache(maxsize=64)
def validation_context(roots: str, *, time_stamp_trust: bool) -> c2pa.Context:
    """A c2pa validation context trusting exactly `roots` (cached: building one parses PEMs)."""
    _check_pem(roots, "trust")
    settings: dict = {"verify": {"verify_trust": True, "verify_timestamp_trust": time_stamp_trust}}
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
