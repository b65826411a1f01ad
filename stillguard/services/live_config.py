"""Live configuration: the active policy packs and hash banks, read from the database.

Every decision asks for the pack it should use; that costs one indexed read (the newest
activation's id). When the id has moved, because an admin anywhere activated or rolled back a
version, the packs are read again, so running workers and `serve` switch without a restart, and
the decision records the version it was made with.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from audit.hash_bank_versions import HashBankVersions
from audit.policy_versions import DEFAULT_SURFACE, PolicyVersions, StoredPack
from audit.store import AuditStore
from policies.pack import PolicyPack
from safety.hashes import HashBank, HashMatcher

from ..errors import InvalidInput
from ..settings import Settings

BANK_SUFFIX = ".txt"
BANK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SURFACE = BANK_NAME  # surfaces are named like banks: 1-64 of a-z, 0-9, '_' and '-'


def checked_surface(surface: str) -> str:
    """`surface` when it is a well-formed surface name, else InvalidInput."""
    if not SURFACE.fullmatch(surface):
        raise InvalidInput("invalid_surface", "surface names are 1-64 of a-z, 0-9, '_' and '-'")
    return surface


def legacy_policy(settings: Settings) -> PolicyPack:
    """The pack used before any version is activated: a pinned file, an uploaded file, default."""
    if settings.policy_path:
        return PolicyPack.load(settings.policy_path)
    uploaded = settings.home / "policies" / "active.yaml"
    return PolicyPack.load(uploaded) if uploaded.exists() else PolicyPack.default()


class LivePolicies:
    """The pack each surface uses now (and its shadow), following activations in the database."""

    def __init__(self, store: AuditStore, settings: Settings) -> None:
        self.versions = PolicyVersions(store)
        self.pinned = settings.policy_path is not None
        self._fallback = legacy_policy(settings)
        self._lock = threading.Lock()
        self._marker = -1
        self._packs: dict[tuple[str, str], PolicyPack] = {}
        self._parsed: dict[str, PolicyPack] = {}  # by sha256: a version is parsed once

    def current(self, surface: str = DEFAULT_SURFACE) -> PolicyPack:
        """The pack decisions on `surface` use now (the default surface's when it has none)."""
        packs = self._refreshed()
        return (
            packs.get((surface, "active"))
            or packs.get((DEFAULT_SURFACE, "active"))
            or self._fallback
        )

    def active(self) -> dict[str, PolicyPack]:
        """Every surface's active pack now, the default surface's always among them."""
        active = {s: p for (s, state), p in self._refreshed().items() if state == "active"}
        return {DEFAULT_SURFACE: self.current(), **active}

    def serves(self, surface: str) -> bool:
        """True when jobs may name `surface`: the default one, or one with an active pack."""
        return surface == DEFAULT_SURFACE or (surface, "active") in self._refreshed()

    def shadow(self, surface: str = DEFAULT_SURFACE) -> PolicyPack | None:
        """The candidate pack running beside the active one on `surface`, if any."""
        return self._refreshed().get((surface, "shadow"))

    def _refreshed(self) -> dict[tuple[str, str], PolicyPack]:
        if self.pinned:
            return {}
        marker = self.versions.marker()
        if marker == self._marker:
            return self._packs
        with self._lock:
            if marker != self._marker:
                self._packs = {
                    key: self._parse(stored) for key, stored in self.versions.current().items()
                }
                self._marker = marker
        return self._packs

    def _parse(self, stored: StoredPack) -> PolicyPack:
        pack = self._parsed.get(stored.sha256)
        if pack is None:
            pack = PolicyPack.from_yaml(stored.body, source=f"policy version {stored.version}")
            self._parsed[stored.sha256] = pack
        return pack


class LiveHashBanks:
    """The hash matcher over the newest version of every bank, rebuilt when a bank changes.

    Banks uploaded to the database win over files of the same name in the banks folder.
    """

    def __init__(self, store: AuditStore, settings: Settings) -> None:
        self.versions = HashBankVersions(store)
        self._folder = settings.hash_bank_folder
        self._lock = threading.Lock()
        self._marker = -1
        self._matcher: HashMatcher | None = None

    def current(self) -> HashMatcher | None:
        """The matcher to use now; None when there are no banks (no signals, not a failure)."""
        marker = self.versions.marker()
        if marker == self._marker:
            return self._matcher
        with self._lock:
            if marker != self._marker:
                self._matcher = self._build()
                self._marker = marker
        return self._matcher

    def _build(self) -> HashMatcher | None:
        banks = {bank.name: bank for bank in _folder_banks(self._folder)}
        for stored in self.versions.current():
            banks[stored.name] = HashBank.from_lines(
                stored.name,
                stored.body.splitlines(),
                source=f"bank {stored.name} v{stored.version}",
            )
        return HashMatcher(sorted(banks.values(), key=lambda b: b.name)) if banks else None


def _folder_banks(folder: Path) -> list[HashBank]:
    files = sorted(folder.glob(f"*{BANK_SUFFIX}")) if folder.is_dir() else []
    return [HashBank.load(path) for path in files if BANK_NAME.fullmatch(path.stem)]


def content_sha256(body: bytes) -> str:
    """The content hash a version is recorded with."""
    return hashlib.sha256(body).hexdigest()
