"""PDQ hash banks (the Hasher-Matcher-Actioner model): hash photos and frames, match known-bad banks.

- Hashes are PDQ (256 bits), written as 64 hex digits in ThreatExchange's order, so banks
  exported from HMA/ThreatExchange load as they are.
- A bank is a named list of hashes, loaded from a file (one `HEX[,label]` per line, `#` comments)
  or built in memory (the API can add hashes).
- Matching uses multi-index hashing: the 256 bits are cut into 16 chunks of 16 bits; two hashes
  within distance d agree to within floor(d / 16) bits on at least one chunk (pigeonhole), so a
  lookup probes each chunk's sorted table for the few keys that close, then checks the candidates'
  full distance. At 1M hashes and d = 31 that is ~4,000 candidates instead of 1M.
- A hash whose PDQ quality is under the floor (flat or tiny images) matches nothing and is
  reported as not evaluated, as HMA does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pdqhash  # type: ignore[import-untyped]
from PIL import Image

from safety.signals import Signal

MODEL = f"pdq@{pdqhash.__version__}"
DEFAULT_DISTANCE = 31
DEFAULT_QUALITY_FLOOR = 50
_CHUNKS = 16
_HASH_SIDE = 512  # PDQ downsamples to 64x64 anyway; hashing a 512 px copy is 3x faster


class HashBankError(ValueError):
    """A bank file or hash that cannot be read; the message names the line."""


def pdq_hash(image: Image.Image | np.ndarray) -> tuple[bytes, int]:
    """PDQ hash (32 bytes) and quality (0-100) of an RGB image."""
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {array.shape}")
    h, w = array.shape[:2]
    scale = _HASH_SIDE / max(h, w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(np.ascontiguousarray(array, dtype=np.uint8))
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def hash_from_hex(text: str) -> bytes:
    """Parse a 64-hex-digit PDQ hash."""
    text = text.strip().lower()
    if len(text) != 64:
        raise HashBankError(f"a PDQ hash is 64 hex digits, got {len(text)} characters")
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise HashBankError(f"not a hex PDQ hash: {text[:16]}...") from error


def _popcount_rows(xored: np.ndarray) -> np.ndarray:
    return np.bitwise_count(xored).sum(axis=1, dtype=np.int32)


def _probes(radius: int) -> np.ndarray:
    """All 16-bit XOR masks of weight <= radius."""
    masks = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(16), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.uint16)


@dataclass(frozen=True)
class HashMatch:
    """One bank entry within the match distance."""

    bank: str
    index: int
    label: str
    distance: int


class HashBank:
    """A named set of PDQ hashes with a multi-index for fast near-duplicate lookup."""

    def __init__(self, name: str, hashes: Iterable[bytes] = (), labels: Iterable[str] = ()):
        self.name = name
        rows = [np.frombuffer(h, dtype=np.uint8) for h in hashes]
        self._hashes = np.stack(rows) if rows else np.empty((0, 32), np.uint8)
        self.labels = list(labels) or [""] * len(self._hashes)
        if len(self.labels) != len(self._hashes):
            raise HashBankError(
                f"bank {name!r}: {len(self.labels)} labels for {len(self._hashes)} hashes"
            )
        self._build_index()

    @classmethod
    def from_array(cls, name: str, hashes: np.ndarray, labels: Sequence[str] = ()) -> HashBank:
        """A bank from an (N, 32) uint8 array of packed hashes (fast path for large banks)."""
        bank = cls(name)
        bank._hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 32)
        bank.labels = list(labels) or [""] * len(bank._hashes)
        bank._build_index()
        return bank

    @classmethod
    def from_lines(cls, name: str, lines: Iterable[str], *, source: str = "") -> HashBank:
        """Parse `HEX[,label]` lines; blank lines and `#` comments are skipped."""
        hashes, labels = [], []
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            hex_part, _, label = line.partition(",")
            try:
                hashes.append(hash_from_hex(hex_part))
            except HashBankError as error:
                raise HashBankError(f"{source or name}, line {number}: {error}") from error
            labels.append(label.strip())
        return cls(name, hashes, labels)

    @classmethod
    def load(cls, path: Path, name: str | None = None) -> HashBank:
        """Load a bank file; the bank is named after the file unless `name` is given."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise HashBankError(f"{path}: cannot read hash bank ({error.strerror})") from error
        return cls.from_lines(name or path.stem, text.splitlines(), source=str(path))

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, hash_value: bytes, label: str = "") -> None:
        """Add one hash (rebuilds the index: for bulk loads use `from_array`/`from_lines`)."""
        row = np.frombuffer(hash_value, dtype=np.uint8)[None]
        self._hashes = np.concatenate([self._hashes, row])
        self.labels.append(label)
        self._build_index()

    def _build_index(self) -> None:
        # One table of (chunk number << 16 | chunk value) over all 16 chunks of all hashes,
        # chunk-major so it is globally sorted, and a lookup is one vectorised searchsorted.
        # Each chunk is sorted on its own uint16 values (a radix sort: ~10 ms per 1M).
        n = len(self._hashes)
        chunks = self._hashes.view(">u2").reshape(n, _CHUNKS)
        self._keys = np.empty(n * _CHUNKS, dtype=np.uint32)
        self._rows = np.empty(n * _CHUNKS, dtype=np.int32)
        for c in range(_CHUNKS):
            order = np.argsort(chunks[:, c], kind="stable")
            self._keys[c * n : (c + 1) * n] = (c << 16) | chunks[order, c].astype(np.uint32)
            self._rows[c * n : (c + 1) * n] = order
        self._words = self._hashes.view("<u8").reshape(n, 4)

    def lookup(self, hash_value: bytes, max_distance: int = DEFAULT_DISTANCE) -> list[HashMatch]:
        """Entries within `max_distance` bits of `hash_value`, nearest first."""
        if len(self._hashes) == 0:
            return []
        query = np.frombuffer(hash_value, dtype=np.uint8)
        chunks = query.view(">u2").astype(np.uint32)
        probes = _probes(max_distance // _CHUNKS).astype(np.uint32)
        keys = np.arange(_CHUNKS, dtype=np.uint32)[:, None] << 16 | (chunks[:, None] ^ probes)
        keys = keys.ravel()
        lo = np.searchsorted(self._keys, keys, side="left")
        hi = np.searchsorted(self._keys, keys, side="right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            return []
        # Concatenate the ranges lo[i]:hi[i] without a Python loop.
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        # Duplicates (a row found through several chunks) are cheaper to score than to remove.
        candidates = self._rows[starts + np.arange(total)]
        distances = _popcount_rows(self._words[candidates] ^ query.view("<u8")[None])
        keep = distances <= max_distance
        hits = sorted(set(zip(distances[keep].tolist(), candidates[keep].tolist(), strict=True)))
        return [HashMatch(self.name, i, self.labels[i], d) for d, i in hits]


class HashMatcher:
    """Matches photos and sampled frames against banks; one `hash.<bank>` signal per bank."""

    def __init__(
        self,
        banks: Sequence[HashBank],
        *,
        max_distance: int = DEFAULT_DISTANCE,
        quality_floor: int = DEFAULT_QUALITY_FLOOR,
    ) -> None:
        self.banks = list(banks)
        self.max_distance = max_distance
        self.quality_floor = quality_floor

    def match_photo(self, photo: Image.Image | np.ndarray) -> list[Signal]:
        """Score 1.0 for a bank with an entry within the distance, else 0.0."""
        hash_value, quality = pdq_hash(photo)
        return [self._signal(bank, [(hash_value, quality, None)]) for bank in self.banks]

    def match_frames(self, frames: np.ndarray, times_s: np.ndarray) -> list[Signal]:
        """Per bank, whether any sampled frame matches, with the matching frames' time range."""
        hashed = [(*pdq_hash(f), float(t)) for f, t in zip(frames, times_s, strict=True)]
        return [self._signal(bank, hashed) for bank in self.banks]

    def _signal(self, bank: HashBank, hashed: Sequence[tuple[bytes, int, float | None]]) -> Signal:
        category = f"hash.{bank.name}"
        usable = [(h, t) for h, q, t in hashed if q >= self.quality_floor]
        if not usable:
            worst = max((q for _, q, _ in hashed), default=0)
            return Signal(
                category,
                0.0,
                MODEL,
                evaluated=False,
                detail=f"PDQ quality {worst} under the floor {self.quality_floor}: "
                "too flat to match",
            )
        matched = [(t, m) for h, t in usable for m in bank.lookup(h, self.max_distance)[:1]]
        if not matched:
            return Signal(
                category,
                0.0,
                MODEL,
                detail=f"no entry of {len(bank)} within {self.max_distance} bits",
            )
        times = [t for t, _ in matched if t is not None]
        best = min((m for _, m in matched), key=lambda m: m.distance)
        label = f" ({best.label})" if best.label else ""
        return Signal(
            category,
            1.0,
            MODEL,
            start_s=min(times) if times else None,
            end_s=max(times) if times else None,
            detail=f"matches entry {best.index}{label} of bank {bank.name!r} at distance "
            f"{best.distance} (limit {self.max_distance})",
        )
