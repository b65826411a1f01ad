"""Verify a file's C2PA provenance and explain the answer to a person.

Trust is decided by us: `valid` only when c2pa-rs says `Trusted` under the caller's claim-signer
roots. Time-stamp roots never enter that context: the stamp's chain is checked against them alone
(trust.py), so a trusted stamp lets a clip outlive its signing certificate and a TSA root can
never vouch for a signer.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import pathlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import c2pa  # type: ignore[import-untyped]
from cryptography import x509

from provenance.errors import CorruptMediaError, ProvenanceError
from provenance.manifest_store import ClaimSignature, claim_signature, sole_embedded_store
from provenance.media import MP4, sniff_stream
from provenance.sign import GENERATION_ASSERTION
from provenance.trust import (
    TrustAnchors,
    claim_context,
    signer_context,
    trusted_time_stamp,
    tsa_context,
)

if TYPE_CHECKING:
    from provenance.recovery import Recovery
    from provenance.repository import ManifestRepository

AI_SOURCE_TYPES = {
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic",
}
_MEDIA_HASH_CODES = {
    "assertion.bmffHash.mismatch",
    "assertion.dataHash.mismatch",
    "assertion.boxesHash.mismatch",
    "assertion.collectionHash.mismatch",
}
_SIGNATURE_CODES = {"claimSignature.mismatch", "claimSignature.missing"}
_STAMP_TRUST_CODES = {"timeStamp.trusted", "timeStamp.untrusted"}
_CREDENTIAL_PREFIXES = ("signingCredential.", "timeStamp.", "claimSignature.outsideValidity")


@dataclass
class VerifyReport:
    """The answer to "is this AI-generated, by whom, and was it changed?"."""

    status: str  # valid | tampered | untrusted | no_manifest | recovered
    ai_generated: bool = False
    generator: dict[str, Any] | None = None
    decision_id: str | None = None
    job_id: str | None = None
    policy_version: str | None = None
    signer: str | None = None
    recovered_from: str | None = None  # watermark | fingerprint | None
    tampered_part: str | None = None  # media data | manifest | signature | None
    validation_codes: list[str] = field(default_factory=list)
    message: str = ""
    manifest_label: str | None = None
    signer_issuer: str | None = None
    time_stamped: bool = False
    original_status: str | None = None  # recovered: the original manifest's own verdict
    clip_id: int | None = None  # recovered: the registry's id of the original clip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the body of `verify --json` and `POST /v1/verify`."""
        return asdict(self)


def verify_file(
    path: pathlib.Path,
    trust_anchors_pem: str | TrustAnchors,
    *,
    repository: ManifestRepository | None = None,
) -> VerifyReport:
    """Verify the file at `path` against our trust anchors (a PEM bundle or TrustAnchors).

    With a `repository`, a clip without a manifest is looked up by watermark and fingerprint.
    """
    try:
        with open(path, "rb") as handle:
            return verify_stream(handle, trust_anchors_pem, repository=repository)
    except OSError as error:
        raise ProvenanceError(f"cannot read {path}: {error.strerror}") from error


def verify_bytes(
    data: bytes,
    trust_anchors_pem: str | TrustAnchors,
    *,
    repository: ManifestRepository | None = None,
) -> VerifyReport:
    """Verify uploaded bytes (the HTTP API path)."""
    return verify_stream(io.BytesIO(data), trust_anchors_pem, repository=repository)


def verify_stream(
    stream: BinaryIO,
    trust_anchors_pem: str | TrustAnchors,
    *,
    repository: ManifestRepository | None = None,
) -> VerifyReport:
    """Verify a seekable binary stream; the type comes from its magic bytes."""
    mime = sniff_stream(stream)
    anchors = TrustAnchors.coerce(trust_anchors_pem)
    report = _validate(stream, mime, anchors)
    if report is not None:
        return report
    if repository is None or mime != MP4:
        return _no_manifest()
    return _recover(stream, anchors, repository)


def _validate(
    stream: BinaryIO, mime: str, anchors: TrustAnchors, manifest_data: bytes | None = None
) -> VerifyReport | None:
    """Validate the embedded (or the given detached) manifest store; None when there is none."""
    judged = _judged_reading(stream, mime, anchors, manifest_data)
    if judged is None:
        return None
    reading, codes = judged
    state, failures = reading.state, _failures(reading.results)
    if manifest_data is not None:
        # A detached store is judged as the original: the copy it is read beside was altered,
        # so its media-hash mismatch says nothing about the manifest's own validity.
        codes = [c for c in codes if c not in _MEDIA_HASH_CODES]
        failures = [c for c in failures if c not in _MEDIA_HASH_CODES]
        if not failures and "signingCredential.trusted" in codes:
            state = "Trusted"
    report = _describe(reading.manifest, reading.signature.get("certificateInfo") or {})
    report.validation_codes = codes
    report.time_stamped = any(c == "timeStamp.validated" for c in codes)
    _judge(report, state, failures)
    return report


def _judged_reading(
    stream: BinaryIO, mime: str, anchors: TrustAnchors, manifest_data: bytes | None
) -> tuple[_Reading, list[str]] | None:
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
    stream: BinaryIO, reading: _Reading, manifest_data: bytes | None
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
    reading: _Reading, codes: list[str], signature: ClaimSignature, tsa_roots: str
) -> bool:
    """Whether the stamp c2pa validated (imprint and signature) chains to a TSA root.

    The token must carry the very time c2pa judged the signer at.
    """
    if "timeStamp.validated" not in codes or any(
        c.startswith("timeStamp.") for c in _failures(reading.results)
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


def _recover(
    stream: BinaryIO, anchors: TrustAnchors, repository: ManifestRepository
) -> VerifyReport:
    """No manifest in the file: find the original through its watermark or fingerprint."""
    from provenance.recovery import read_signals, recover  # decoding stack only when needed

    found = recover(read_signals(stream), repository)
    if found is None:
        report = _no_manifest()
        report.message += (
            " Neither a watermark nor a fingerprint match was found in the manifest repository."
        )
        return report
    original = _validate(stream, MP4, anchors, found.entry.manifest_store)
    if original is None:
        raise ProvenanceError(
            f"the repository's manifest store for clip {found.entry.clip_id} cannot be read"
        )
    return _recovered(original, found)


def _recovered(original: VerifyReport, found: Recovery) -> VerifyReport:
    report = VerifyReport(**original.to_dict())
    report.original_status = original.status
    report.status, report.recovered_from = "recovered", found.source
    report.clip_id = found.entry.clip_id
    report.message = (
        f"This file carries no C2PA manifest, but {found.detail}. Its original manifest, "
        f"recovered from the repository, is {original.status}: {original.message}"
    )
    return report


@dataclass
class _Reading:
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
) -> _Reading | None:
    """One c2pa read; `crjson` adds the claim signature's certificate names (~1 ms more)."""
    stream.seek(0)
    try:
        reader = c2pa.Reader.try_create(mime, stream, manifest_data, context)
    except c2pa.C2paError as error:
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
        return _Reading(str(store.get("validation_state")), results, manifest, signature)


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


def _failures(results: dict) -> list[str]:
    return [str(item.get("code")) for item in results.get("failure") or []]


def _name(parts: dict) -> str | None:
    if not parts:
        return None
    order = ["CN", "OU", "O", "L", "ST", "C"]
    keys = sorted(parts, key=lambda k: order.index(k) if k in order else len(order))
    return ", ".join(f"{k}={parts[k]}" for k in keys)


def _describe(manifest: dict, certificate: dict) -> VerifyReport:
    report = VerifyReport(status="untrusted", manifest_label=manifest.get("label"))
    report.signer = _name(certificate.get("subject") or {})
    report.signer_issuer = _name(certificate.get("issuer") or {})
    if report.signer is None:
        info = manifest.get("signature_info") or {}
        report.signer = info.get("common_name") or info.get("issuer")
    for assertion in manifest.get("assertions") or []:
        label, data = assertion.get("label", ""), assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                if action.get("digitalSourceType") in AI_SOURCE_TYPES:
                    report.ai_generated = True
                agent = action.get("softwareAgent")
                if isinstance(agent, dict) and report.generator is None:
                    report.generator = {"name": agent.get("name"), "version": agent.get("version")}
        elif label == GENERATION_ASSERTION:
            generator = data.get("generator")
            if isinstance(generator, dict):
                report.generator = generator
            report.decision_id = data.get("decision_id")
            report.job_id = data.get("job_id")
            report.policy_version = data.get("policy_version")
    return report


def _judge(report: VerifyReport, state: str, failures: list[str]) -> None:
    who = report.signer or "an unknown signer"
    made = (
        f"; it declares itself AI-generated by {_generator_text(report.generator)}"
        if report.ai_generated
        else "; it does not declare itself AI-generated"
    )
    if any(code in _MEDIA_HASH_CODES for code in failures):
        report.status, report.tampered_part = "tampered", "media data"
        report.message = (
            "The video/audio data was changed after it was signed, so the manifest's claims "
            "no longer describe this file."
        )
    elif any(
        not code.startswith(_CREDENTIAL_PREFIXES) and code not in _SIGNATURE_CODES
        for code in failures
    ):
        report.status, report.tampered_part = "tampered", "manifest"
        report.message = (
            "The provenance manifest was altered after signing; its claims cannot be trusted."
        )
    elif any(code in _SIGNATURE_CODES for code in failures):
        report.status, report.tampered_part = "tampered", "signature"
        report.message = (
            "The manifest's signature does not match its contents; it was altered after signing."
        )
    elif state == "Trusted" and not failures:
        report.status = "valid"
        report.message = f"Signed by {who}, a trusted signer, and unchanged since signing{made}."
    else:
        report.status = "untrusted"
        reason = _credential_reason(failures)
        report.message = (
            f"Signed by {who} (issued by {report.signer_issuer or 'unknown'}), but {reason}{made}."
        )


def _credential_reason(failures: list[str]) -> str:
    if "signingCredential.expired" in failures:
        return "the signing certificate has expired and no trusted time stamp proves it was valid at signing"
    if "signingCredential.revoked" in failures:
        return "the signing certificate was revoked"
    if "signingCredential.invalid" in failures:
        return "the signing certificate is invalid for C2PA"
    return "that signer does not chain to a trusted root, so its claims cannot be relied on"


def _generator_text(generator: dict[str, Any] | None) -> str:
    if not generator:
        return "an unnamed generator"
    return " ".join(str(generator[k]) for k in ("name", "version") if generator.get(k))


def _no_manifest() -> VerifyReport:
    return VerifyReport(
        status="no_manifest",
        message=(
            "No C2PA manifest was found: the file was never signed, or it was re-encoded or "
            "stripped of its provenance."
        ),
    )
