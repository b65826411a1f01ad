"""Verification for anyone: a file's provenance report, and soft-binding resolution."""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
from pathlib import Path
from typing import Any

from provenance.errors import CorruptMediaError, ProvenanceError, UnsupportedMediaError
from provenance.fingerprint import FINGERPRINT_ALG
from provenance.recovery import read_signals, recover
from provenance.repository import RegistryEntry
from provenance.verify import verify_file
from provenance.watermark_code import WATERMARK_ALG, WATERMARK_ALGS

from ..container import StageDeps
from ..errors import CorruptMedia, InvalidInput, UnsupportedMedia
from .media_limits import DecodeBudget, is_mp4
from .remote_manifests import remote_fetcher


def verify_upload(deps: StageDeps, data: bytes) -> dict[str, Any]:
    """The provenance report of uploaded bytes; stripped copies are looked up in the registry."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        # The decoder names the file it read: a temp path of ours, not the caller's business.
        return verify_path(deps, path, shown_as="the upload")


def verify_path(deps: StageDeps, path: Path, *, shown_as: str | None = None) -> dict[str, Any]:
    """The provenance report of a file (`stillguard verify`, and uploads once saved).

    A clip without a manifest is decoded for its watermark only within the decoding budget.
    Error messages name the file as `shown_as` when given (an upload's temp path stays private).
    """

    def message(exc: Exception) -> str:
        return str(exc).replace(str(path), shown_as) if shown_as else str(exc)

    budget = DecodeBudget.from_settings(deps.settings)
    try:
        report = verify_file(
            path,
            deps.trust_anchors(),
            repository=deps.repository,
            on_frame=budget,
            fetch_remote=remote_fetcher(deps.settings),
        )
    except UnsupportedMediaError as exc:
        raise UnsupportedMedia("unsupported_media_type", message(exc)) from exc
    except CorruptMediaError as exc:
        raise CorruptMedia("corrupt_media", message(exc)) from exc
    except ProvenanceError as exc:
        raise InvalidInput("unreadable_media", message(exc)) from exc
    return report.to_dict()


def _match(entry: RegistryEntry, source: str, detail: str = "") -> dict[str, Any]:
    """One match in the shape of the C2PA soft-binding resolution API, plus our own fields."""
    return {
        "manifestId": entry.manifest_label,
        "clip_id": entry.clip_id,
        "job_id": entry.job_id,
        "matched_by": source,
        "detail": detail,
    }


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def resolve_binding(deps: StageDeps, alg: str, value: str) -> list[dict[str, Any]]:
    """The manifest a soft binding (watermark id or fingerprint hashes) came from, if any."""
    if alg in WATERMARK_ALGS:  # a clip signed before v2 names v1; its value is a clip id too
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise InvalidInput("invalid_value", "a watermark value is base64") from exc
        if len(raw) != 4:
            raise InvalidInput("invalid_value", "a watermark value is 4 bytes, base64-encoded")
        entry = deps.repository.by_clip_id(int.from_bytes(raw, "big"))
        return [_match(entry, "watermark")] if entry else []
    if alg == FINGERPRINT_ALG:
        hashes = [h.strip() for h in value.split(",") if h.strip()]
        if not hashes or any(len(h) != 64 or not _is_hex(h) for h in hashes):
            raise InvalidInput(
                "invalid_value", "a fingerprint value is 64-hex PDQ hashes, comma-separated"
            )
        entry = deps.repository.by_fingerprint(hashes)
        return [_match(entry, "fingerprint")] if entry else []
    raise InvalidInput("unknown_alg", f"alg must be {WATERMARK_ALG} or {FINGERPRINT_ALG}")


def resolve_content(deps: StageDeps, data: bytes) -> list[dict[str, Any]]:
    """The manifest an uploaded copy came from, by its watermark, then its fingerprint.

    Only MP4 clips carry the watermark; each is decoded within the decoding budget."""
    if not is_mp4(data):
        raise UnsupportedMedia("unsupported_media_type", "send an MP4 clip to find its manifest")
    budget = DecodeBudget.from_settings(deps.settings)
    budget.check_header(data)
    try:
        signals = read_signals(io.BytesIO(data), on_frame=budget)
    except ProvenanceError as exc:
        raise CorruptMedia("corrupt_media", str(exc)) from exc
    found = recover(signals, deps.repository)
    return [_match(found.entry, found.source, found.detail)] if found else []
