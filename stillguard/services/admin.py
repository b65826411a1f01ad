"""Admin services: policy packs as versions (upload, activate, roll back, history) and hash banks.

Packs and banks live in the database (`audit.policy_versions`, `audit.hash_bank_versions`);
running processes follow them through `live_config`. Every change is audited in the same
transaction, so a refused change leaves nothing behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.policy_versions import (
    DEFAULT_SURFACE,
    Activation,
    NothingToRollBack,
    PolicyVersionExists,
    StoredPack,
    UnknownPolicyVersion,
)
from policies.inheritance import resolve_inheritance
from policies.pack import PolicyError, PolicyPack
from safety.hashes import HashBank, HashBankError

from ..errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from .input_limits import has_control_characters
from .live_config import BANK_NAME, checked_surface, content_sha256

if TYPE_CHECKING:
    from ..container import StageDeps

MAX_POLICY_BYTES = 256 * 1024
MAX_BANK_BYTES = 80 * 1024 * 1024  # ~1M hashes with labels
MAX_LABEL_CHARS = 200  # a label travels into every decision that matches it


def parse_policy_upload(deps: StageDeps, body: bytes) -> tuple[str, PolicyPack]:
    """Check an uploaded pack before anything is stored: size, encoding, bounds, schema.

    Returns the text to store (inherited stages copied in, see `policies.inheritance`) and its
    pack.
    """
    if deps.policies.pinned:
        raise Conflict(
            "policy_pinned", "STILLGUARD_POLICY_PATH pins the policy pack; change that file instead"
        )
    source = "uploaded policy"
    text = _policy_text(body, source=source)

    def stored_body(version: str) -> str | None:
        try:
            return deps.policies.versions.get(version).body
        except UnknownPolicyVersion:
            return None

    try:
        return resolve_inheritance(text, stored_body, source=source)
    except PolicyError as exc:
        raise InvalidInput("invalid_policy", str(exc)) from exc


def policy_from_bytes(body: bytes, *, source: str) -> PolicyPack:
    """A pack from a file: at most MAX_POLICY_BYTES of UTF-8 YAML, validated."""
    try:
        return PolicyPack.from_yaml(_policy_text(body, source=source), source=source)
    except PolicyError as exc:
        raise InvalidInput("invalid_policy", str(exc)) from exc


def _policy_text(body: bytes, *, source: str) -> str:
    if len(body) > MAX_POLICY_BYTES:
        raise PayloadTooLarge(
            "payload_too_large", f"a policy pack is at most {MAX_POLICY_BYTES} bytes"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("invalid_policy", f"{source}: a policy pack is UTF-8 text") from exc


def upload_policy(
    deps: StageDeps, body: bytes, *, admin: str, activate_on: str | None = None
) -> StoredPack:
    """Validate and store a pack as a new immutable version (activated too with `activate_on`).

    What is stored, and hashed, is the pack with its inherited stages resolved.
    """
    text, pack = parse_policy_upload(deps, body)
    try:
        return deps.policies.versions.upload(
            pack.version,
            text,
            content_sha256(text.encode("utf-8")),
            by=admin,
            activate_on=checked_surface(activate_on) if activate_on is not None else None,
        )
    except PolicyVersionExists as exc:
        raise Conflict("policy_version_exists", str(exc)) from exc


def publish_policy(
    deps: StageDeps, body: bytes, *, admin: str, surface: str = DEFAULT_SURFACE
) -> PolicyPack:
    """Upload and activate in one transaction (`PUT /v1/policies`); returns the new pack."""
    upload_policy(deps, body, admin=admin, activate_on=surface)
    return deps.policies.current(surface)


def activate_policy_version(
    deps: StageDeps, version: str, *, admin: str, surface: str = DEFAULT_SURFACE
) -> Activation:
    """Make an uploaded version the surface's active pack."""
    return _switch(deps, version, admin=admin, surface=surface, role="active")


def shadow_policy_version(
    deps: StageDeps, version: str, *, admin: str, surface: str = DEFAULT_SURFACE
) -> Activation:
    """Run an uploaded version beside the surface's active pack, recording what it would do."""
    return _switch(deps, version, admin=admin, surface=surface, role="shadow")


def stored_policy(deps: StageDeps, version: str) -> PolicyPack:
    """An uploaded version as a pack (to backtest it, say), the shipped default pack by its
    version (it decides until a version is uploaded), or NotFound."""
    try:
        stored = deps.policies.versions.get(version)
    except UnknownPolicyVersion as exc:
        shipped = PolicyPack.default()
        if version == shipped.version:
            return shipped
        raise NotFound("unknown_policy_version", str(exc)) from exc
    return PolicyPack.from_yaml(stored.body, source=f"policy version {version}")


def _switch(deps: StageDeps, version: str, *, admin: str, surface: str, role: str) -> Activation:
    if deps.policies.pinned:
        raise Conflict("policy_pinned", "STILLGUARD_POLICY_PATH pins the policy pack")
    try:
        return deps.policies.versions.activate(
            version, by=admin, surface=checked_surface(surface), role=role
        )
    except UnknownPolicyVersion as exc:
        raise NotFound("unknown_policy_version", str(exc)) from exc


def withdraw_shadow(deps: StageDeps, *, admin: str, surface: str = DEFAULT_SURFACE) -> Activation:
    """Stop the surface's shadow pack."""
    return deps.policies.versions.withdraw_shadow(by=admin, surface=checked_surface(surface))


def rollback_policy(deps: StageDeps, *, admin: str, surface: str = DEFAULT_SURFACE) -> Activation:
    """Re-activate the version that was active before the current one."""
    try:
        return deps.policies.versions.rollback(by=admin, surface=checked_surface(surface))
    except NothingToRollBack as exc:
        raise Conflict("nothing_to_roll_back", str(exc)) from exc


def policy_history(deps: StageDeps) -> dict[str, Any]:
    """Every uploaded version and every activation, oldest first."""
    versions, activations = deps.policies.versions.history()
    return {
        "versions": [v.to_dict() for v in versions],
        "activations": [a.to_dict() for a in activations],
    }


def parse_hash_bank(name: str, body: bytes) -> HashBank:
    """Validate an uploaded bank before anything is stored."""
    if not BANK_NAME.fullmatch(name):
        raise InvalidInput("invalid_bank_name", "bank names are 1-64 of a-z, 0-9, '_' and '-'")
    if len(body) > MAX_BANK_BYTES:
        raise PayloadTooLarge("payload_too_large", f"a hash bank is at most {MAX_BANK_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("invalid_hash_bank", "a hash bank is UTF-8 text") from exc
    if has_control_characters(text):
        raise InvalidInput(
            "invalid_hash_bank", "a hash bank must not contain control characters (e.g. NUL)"
        )
    try:
        bank = HashBank.from_lines(name, text.splitlines(), source=f"uploaded bank {name}")
    except HashBankError as exc:
        raise InvalidInput("invalid_hash_bank", str(exc)) from exc
    if any(len(label) > MAX_LABEL_CHARS for label in bank.labels):
        raise InvalidInput(
            "invalid_hash_bank", f"a hash bank's labels are at most {MAX_LABEL_CHARS} characters"
        )
    return bank


def load_hash_bank(deps: StageDeps, name: str, body: bytes, *, admin: str) -> HashBank:
    """Store an uploaded bank as its next version, audited; every process matches it next."""
    bank = parse_hash_bank(name, body)
    deps.hash_banks.versions.upload(
        name, body.decode("utf-8"), content_sha256(body), len(bank), by=admin
    )
    return bank
