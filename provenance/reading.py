"""One judged reading of a C2PA manifest store: c2pa's verdict under the claim-signer roots, with
the time stamp's trust decided against the TSA roots alone.

c2pa-rs does not keep trust kinds apart (DEPENDENCIES.md), so the two lists never share a c2pa
context. The usual case costs one read: claim signers trusted under their roots, stamps checked by
c2pa for integrity only, and the stamp's chain checked here (trust.trusted_time_stamp) from the
very store c2pa read. When that check cannot vouch for the stamp, c2pa judges it in a TSA-only
context and the signer is read again, at the stamp's time only if the stamp is trusted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import BinaryIO

import c2pa  # type: ignore[import-untyped]
from cryptography import x509

from provenance.errors import CorruptMediaError, RemoteManifestError
from provenance.manifest_store import ClaimSignature, claim_signature, sole_embedded_store
from provenance.media import MP4
from provenance.trust import (
    TrustAnchors,
    claim_context,
    signer_context,
    trusted_time_stamp,
    tsa_context,
)

_STAMP_TRUST_CODES = {"timeStamp.trusted", "timeStamp.untrusted"}
# c2pa's answer, with remote fetching off (trust.validation_context), for a remote manifest.
_REMOTE_URL = re.compile(r"must fetch remote manifests from url (\S+)")
NOT_FETCHED = "it was not fetched (remote manifests are fetched only from hosts an operator allows)"


@dataclass
class Reading:
    """What one c2pa read says about the active manifest."""

    state: str
    results: dict
    manifest: dict
    signature: dict  # crJSON's claim signature: certificateInfo, timeStampInfo


def _read(
    stream: BinaryIO,
    mime: str,
    context: c2pa.Context,
    manifest_data: bytes | None = None,
    *,
    crjson: bool = True,
) -> Reading | None:
    """One c2pa read; `crjson` adds the claim signature's certificate names (~1 ms more)."""
    stream.seek(0)
    try:
        reader = c2pa.Reader.try_create(mime, stream, manifest_data, context)
    except c2pa.C2paError as error:
        if remote := _REMOTE_URL.search(str(error)):
            raise RemoteManifestError(remote.group(1), NOT_FETCHED) from error
        raise CorruptMediaError(
            f"the {mime} file is truncated or corrupt and cannot be verified ({error}); "
            "verify the complete original file"
        ) from error
    if reader is None:
        return None
    with reader:
        store = json.loads(reader.json())
        label = store.get("active_manifest")
        manifest = store.get("manifests", {}).get(label) if label else None
        if manifest is None:
            return None
        manifest["label"] = label
        signature = _signature_info(reader.crjson(), label) if crjson else {}
        results = (store.get("validation_results") or {}).get("activeManifest") or {}
        return Reading(str(store.get("validation_state")), results, manifest, signature)


def _signature_info(crjson: str, label: str) -> dict:
    for entry in json.loads(crjson).get("manifests", []):
        if entry.get("label") == label:
            return entry.get("signature") or {}
    return {}


def _codes(results: dict) -> list[str]:
    # Failures first: they decide the status; then informational and success codes.
    seen: dict[str, None] = {}
    for kind in ("failure", "informational", "success"):
        for item in results.get(kind) or []:
            seen.setdefault(str(item.get("code")), None)
    return list(seen)


def failures_of(results: dict) -> list[str]:
    """The failure codes in c2pa's results."""
    return [str(item.get("code")) for item in results.get("failure") or []]


def judged_reading(
    stream: BinaryIO, mime: str, anchors: TrustAnchors, manifest_data: bytes | None
) -> tuple[Reading, list[str]] | None:
    """c2pa's reading under the claim-signer roots, and its codes with the stamp's trust decided.

    A stamp trusted under the TSA roots may carry the signer past its certificate's expiry;
    otherwise the signer is judged at the current time. Trust kinds never share a c2pa context:
    one read trusts only claim signers (stamps checked for integrity, not trust) and the stamp's
    chain is checked here against the TSA roots alone. Only when that check cannot vouch for the
    stamp is the file read again, first in a TSA-only context, as c2pa's own judgement.
    """
    if not anchors.tsa.strip():
        reading = _read(stream, mime, signer_context(anchors.signers), manifest_data)
        return None if reading is None else (reading, _codes(reading.results))
    if manifest_data is not None or mime == MP4:  # a store we can take the token from
        reading = _read(stream, mime, claim_context(anchors.signers), manifest_data, crjson=False)
        if reading is None:
            return None
        codes = _codes(reading.results)
        signature = _claim_signature(stream, reading, manifest_data)
        if (
            signature is not None
            and _stamp_trusted(reading, codes, signature, anchors.tsa)
            and (certificate := _certificate_info(signature.certificates[0])) is not None
        ):
            reading.signature = {"certificateInfo": certificate}
            stamp = [c for c in codes if c.startswith("timeStamp.") and c not in _STAMP_TRUST_CODES]
            return reading, [c for c in codes if not c.startswith("timeStamp.")] + [
                *stamp,
                "timeStamp.trusted",
            ]
    probe = _read(stream, mime, tsa_context(anchors.tsa), manifest_data, crjson=False)
    if probe is None:
        return None
    stamp = [c for c in _codes(probe.results) if c.startswith("timeStamp.")]
    trusted = "timeStamp.trusted" in stamp
    context = claim_context(anchors.signers) if trusted else signer_context(anchors.signers)
    reading = _read(stream, mime, context, manifest_data)
    if reading is None:
        return None
    return reading, [c for c in _codes(reading.results) if not c.startswith("timeStamp.")] + stamp


def _claim_signature(
    stream: BinaryIO, reading: Reading, manifest_data: bytes | None
) -> ClaimSignature | None:
    """The claim signature's headers, from the very store c2pa read; None when unsure.

    That is the detached store, or the MP4's only C2PA box (see sole_embedded_store).
    Other formats' embeddings are not parsed here: they get c2pa's TSA-only read.
    """
    store = manifest_data if manifest_data is not None else sole_embedded_store(stream)
    if store is None:
        return None
    try:
        return claim_signature(store, str(reading.manifest.get("label")))
    except (ValueError, TypeError):
        return None


def _stamp_trusted(
    reading: Reading, codes: list[str], signature: ClaimSignature, tsa_roots: str
) -> bool:
    """Whether the stamp c2pa validated (imprint and signature) chains to a TSA root.

    The token must carry the very time c2pa judged the signer at.
    """
    if "timeStamp.validated" not in codes or any(
        c.startswith("timeStamp.") for c in failures_of(reading.results)
    ):
        return False
    if len(signature.time_stamp_tokens) != 1:
        return False
    stamp = trusted_time_stamp(signature.time_stamp_tokens[0], tsa_roots)
    if stamp is None:
        return False
    try:
        judged_at = dt.datetime.fromisoformat(str(reading.manifest["signature_info"]["time"]))
    except (KeyError, TypeError, ValueError):
        return False
    return judged_at == stamp.time


def _certificate_info(der: bytes) -> dict | None:
    """The signer's names as crJSON's certificateInfo gives them (what _describe reads)."""
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return {
        "subject": {a.rfc4514_attribute_name: a.value for a in certificate.subject},
        "issuer": {a.rfc4514_attribute_name: a.value for a in certificate.issuer},
    }
