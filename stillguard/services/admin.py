"""Admin services: the active policy pack and the known-bad hash banks, kept under HOME."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from policies.pack import PolicyError, PolicyPack
from provenance.atomic import write_atomic
from safety.hashes import HashBank, HashBankError, HashMatcher

from ..errors import Conflict, InvalidInput, PayloadTooLarge
from ..settings import Settings

if TYPE_CHECKING:  # the container builds its policy and banks with the loaders below
    from ..container import StageDeps

MAX_POLICY_BYTES = 256 * 1024
MAX_BANK_BYTES = 80 * 1024 * 1024  # ~1M hashes with labels
BANK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def active_policy_path(settings: Settings) -> Path:
    """Where an admin's uploaded policy pack is kept."""
    return settings.home / "policies" / "active.yaml"


def load_policy(settings: Settings) -> PolicyPack:
    """The active policy pack: STILLGUARD_POLICY_PATH, else an uploaded pack, else the default."""
    if settings.policy_path:
        return PolicyPack.load(settings.policy_path)
    uploaded = active_policy_path(settings)
    return PolicyPack.load(uploaded) if uploaded.exists() else PolicyPack.default()


def parse_policy_upload(settings: Settings, body: bytes) -> PolicyPack:
    """Check an uploaded pack before anything is stored: size, encoding, schema."""
    if settings.policy_path:
        raise Conflict(
            "policy_pinned", "STILLGUARD_POLICY_PATH pins the policy pack; change that file instead"
        )
    if len(body) > MAX_POLICY_BYTES:
        raise PayloadTooLarge(
            "payload_too_large", f"a policy pack is at most {MAX_POLICY_BYTES} bytes"
        )
    try:
        return PolicyPack.from_yaml(body.decode("utf-8"), source="uploaded policy")
    except (PolicyError, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid_policy", str(exc)) from exc


def save_active_policy(settings: Settings, text: bytes) -> None:
    """Keep an uploaded pack (already validated) so restarts and other processes use it."""
    write_atomic(active_policy_path(settings), text)


def load_hash_matcher(settings: Settings) -> HashMatcher | None:
    """Hash banks from the banks folder; None when there are none (no signals, not a failure)."""
    folder = settings.hash_bank_folder
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    banks = [HashBank.load(path) for path in files if BANK_NAME.fullmatch(path.stem)]
    return HashMatcher(banks) if banks else None


def save_hash_bank(settings: Settings, name: str, body: bytes) -> HashBank:
    """Validate and store a bank uploaded through the API; the name becomes the file name."""
    if not BANK_NAME.fullmatch(name):
        raise InvalidInput("invalid_bank_name", "bank names are 1-64 of a-z, 0-9, '_' and '-'")
    if len(body) > MAX_BANK_BYTES:
        raise PayloadTooLarge("payload_too_large", f"a hash bank is at most {MAX_BANK_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("invalid_hash_bank", "a hash bank is UTF-8 text") from exc
    try:
        bank = HashBank.from_lines(name, text.splitlines(), source=f"uploaded bank {name}")
    except HashBankError as exc:
        raise InvalidInput("invalid_hash_bank", str(exc)) from exc
    write_atomic(settings.hash_bank_folder / f"{name}.txt", body)
    return bank


def activate_policy(deps: StageDeps, settings: Settings, body: bytes, *, admin: str) -> PolicyPack:
    """Validate, keep and switch to an uploaded pack, audited with the version it replaced."""
    pack = parse_policy_upload(settings, body)
    previous = deps.policy.version
    save_active_policy(settings, body)
    deps.policy = pack
    deps.store.append(
        job_id=None,
        stage="policy",
        kind="policy.activated",
        action="activate",
        policy_version=pack.version,
        reasons=[f"admin {admin} replaced {previous}"],
        payload={"previous_version": previous, "admin": admin},
    )
    return pack


def load_hash_bank(
    deps: StageDeps, settings: Settings, name: str, body: bytes, *, admin: str
) -> HashBank:
    """Store an uploaded bank, audited; the next job matches against it."""
    bank = save_hash_bank(settings, name, body)
    deps.forget("hashes")
    deps.store.append(
        job_id=None,
        stage="policy",
        kind="hash_bank.loaded",
        action="load",
        reasons=[f"admin {admin} loaded bank {bank.name} ({len(bank)} hashes)"],
        payload={"bank": bank.name, "hashes": len(bank), "admin": admin},
    )
    return bank
