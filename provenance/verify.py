"""Verify a file's C2PA provenance and explain the answer to a person.

Trust is decided by us: `valid` only when c2pa-rs says `Trusted` under the caller's claim-signer
roots. Time-stamp roots never enter that context: the stamp's chain is checked against them alone
(reading.py, trust.py), so a trusted stamp lets a clip outlive its signing certificate and a TSA
root can never vouch for a signer.
"""

from __future__ import annotations

import io
import pathlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from provenance.errors import ProvenanceError, RemoteManifestError
from provenance.media import MP4, sniff_stream
from provenance.reading import failures_of, judged_reading
from provenance.sign import GENERATION_ASSERTION
from provenance.trust import TrustAnchors

if TYPE_CHECKING:
    from provenance.recovery import FrameHook, Recovery
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
# Fetches a remote manifest store by its URL, or raises RemoteManifestError saying why not.
RemoteFetch = Callable[[str], bytes]
_DAMAGED_STAMP_CODES = ("timeStamp.mismatch", "timeStamp.malformed")
_SIGNATURE_CODES = {"claimSignature.mismatch", "claimSignature.missing"}
_CREDENTIAL_PREFIXES = ("signingCredential.", "timeStamp.", "claimSignature.outsideValidity")


@dataclass
class VerifyReport:
    """The answer to "is this AI-generated, by whom, and was it changed?"."""

    # valid | tampered | untrusted | no_manifest | recovered | related | remote_manifest
    status: str
    ai_generated: bool = False
    generator: dict[str, Any] | None = None
    decision_id: str | None = None
    job_id: str | None = None
    policy_version: str | None = None
    signer: str | None = None
    recovered_from: str | None = None  # recovered: watermark; related: fingerprint; else None
    tampered_part: str | None = None  # media data | manifest | signature | None
    validation_codes: list[str] = field(default_factory=list)
    message: str = ""
    manifest_label: str | None = None
    signer_issuer: str | None = None
    time_stamped: bool = False
    original_status: str | None = None  # recovered: the original manifest's own verdict
    clip_id: int | None = None  # recovered/related: the registry's id of the original clip
    # recovered/related: how the copy differs from the original, as the match undid it
    # ("mirrored left-right, letterboxed (bars above and below)"; "none" for the frame as is)
    match_transform: str | None = None
    match_confidence: float | None = None  # recovered/related: 0..1
    remote_url: str | None = None  # where the file says its manifest store is kept
    # "code: words" for what does not change the status but must not go unseen
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the body of `verify --json` and `POST /v1/verify`."""
        return asdict(self)


def verify_file(
    path: pathlib.Path,
    trust_anchors_pem: str | TrustAnchors,
    *,
    repository: ManifestRepository | None = None,
    on_frame: FrameHook | None = None,
    fetch_remote: RemoteFetch | None = None,
) -> VerifyReport:
    """Verify the file at `path` against our trust anchors (a PEM bundle or TrustAnchors).

    With a `repository`, a clip without a manifest is looked up by watermark and fingerprint;
    `on_frame` hears of each frame that lookup decodes (see recovery.read_signals).
    A manifest kept at a URL is fetched only through `fetch_remote` (an operator's allowlist).
    """
    try:
        with open(path, "rb") as handle:
            return verify_stream(
                handle,
                trust_anchors_pem,
                repository=repository,
                on_frame=on_frame,
                fetch_remote=fetch_remote,
            )
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
    on_frame: FrameHook | None = None,
    fetch_remote: RemoteFetch | None = None,
) -> VerifyReport:
    """Verify a seekable binary stream; the type comes from its magic bytes."""
    mime = sniff_stream(stream)
    anchors = TrustAnchors.coerce(trust_anchors_pem)
    try:
        report = _validate(stream, mime, anchors)
    except RemoteManifestError as remote:
        return _remote(stream, mime, anchors, remote, fetch_remote)
    if report is not None:
        return report
    if repository is None or mime != MP4:
        return _no_manifest()
    return _recover(stream, anchors, repository, on_frame)


def _validate(
    stream: BinaryIO,
    mime: str,
    anchors: TrustAnchors,
    manifest_data: bytes | None = None,
    *,
    of_original: bool = False,
) -> VerifyReport | None:
    """Validate the embedded (or the given detached) manifest store; None when there is none.

    `of_original`: the store is a recovered original's, read beside an altered copy.
    """
    judged = judged_reading(stream, mime, anchors, manifest_data)
    if judged is None:
        return None
    reading, codes = judged
    state, failures = reading.state, failures_of(reading.results)
    if of_original:
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
    _warn_of_damaged_stamp(report, codes)
    return report


def _warn_of_damaged_stamp(report: VerifyReport, codes: list[str]) -> None:
    """A stamp that fails its own checks proves no signing time; say so, whatever the status."""
    damaged = [c for c in codes if c in _DAMAGED_STAMP_CODES]
    if not damaged:
        return
    report.warnings.append(
        f"time_stamp_damaged: the time stamp does not verify ({', '.join(damaged)}), so it "
        "proves no signing time; the signer was judged at the current time instead"
    )
    report.message += f" Warning: its time stamp is damaged ({', '.join(damaged)})."


def _recover(
    stream: BinaryIO,
    anchors: TrustAnchors,
    repository: ManifestRepository,
    on_frame: FrameHook | None,
) -> VerifyReport:
    """No manifest in the file: find the original through its watermark or fingerprint."""
    from provenance.recovery import read_signals, recover  # decoding stack only when needed

    signals = read_signals(stream, on_frame=on_frame)
    found = recover(signals, repository)
    if found is None:
        report = _no_manifest()
        report.message += (
            " Neither a watermark nor a fingerprint match was found in the manifest repository."
        )
        if signals.limits:
            report.message += f" Cannot tell whether it was ours: {'; '.join(signals.limits)}."
        return report
    original = _validate(stream, MP4, anchors, found.entry.manifest_store, of_original=True)
    if original is None:
        raise ProvenanceError(
            f"the repository's manifest store for clip {found.entry.clip_id} cannot be read"
        )
    return _recovered(original, found)


def _remote(
    stream: BinaryIO,
    mime: str,
    anchors: TrustAnchors,
    remote: RemoteManifestError,
    fetch_remote: RemoteFetch | None,
) -> VerifyReport:
    """A file whose manifest store is kept at a URL: judged only if an allowed fetch gets it."""
    try:
        if fetch_remote is None:
            raise remote
        report = _validate(stream, mime, anchors, fetch_remote(remote.url))
        if report is None:
            raise RemoteManifestError(remote.url, "what it serves is not a manifest store")
    except RemoteManifestError as unread:
        return VerifyReport(
            status="remote_manifest",
            remote_url=unread.url,
            message=(
                f"This file's C2PA manifest is not in the file but stored remotely at "
                f"{unread.url}, and {unread.reason}, so its provenance is unknown."
            ),
        )
    report.remote_url = remote.url
    report.message += f" (The manifest was fetched from {remote.url}.)"
    return report


def _recovered(original: VerifyReport, found: Recovery) -> VerifyReport:
    transform = ", ".join(found.transform) or "none"
    if found.related:
        # Siblings from the same photo share a fingerprint: the original's claims are not this
        # file's, so only who made the related clip is told.
        report = VerifyReport(
            status="related",
            recovered_from=found.source,
            clip_id=found.entry.clip_id,
            manifest_label=original.manifest_label,
            signer=original.signer,
            signer_issuer=original.signer_issuer,
            original_status=original.status,
        )
        report.message = (
            f"This file carries no C2PA manifest and no watermark we can read, but {found.detail} "
            f"(undone to match: {transform}). It is related content from the same source as "
            f"that clip (its manifest is {original.status}), not necessarily that clip itself, "
            "so that manifest's claims are not this file's."
        )
    else:
        report = VerifyReport(**original.to_dict())
        report.original_status = original.status
        report.status, report.recovered_from = "recovered", found.source
        report.clip_id = found.entry.clip_id
        report.message = (
            f"This file carries no C2PA manifest, but {found.detail} (undone to match: "
            f"{transform}). Its original manifest, recovered from the repository, is "
            f"{original.status}: {original.message}"
        )
    report.match_transform, report.match_confidence = transform, found.confidence
    return report


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
            "The media data (picture or sound) was changed after it was signed, so the "
            "manifest's claims no longer describe this file."
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
