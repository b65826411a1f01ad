"""A clip's perceptual fingerprint: PDQ hashes of one frame per second.

PDQ survives what re-uploads do to a clip (Hamming distance 2-8 of 256 after CRF 28 or a 480p
downscale, ~120 between unrelated frames; DEPENDENCIES.md). Frames are sampled at the middle of
each second, so a copy trimmed by whole seconds samples the very same frames.
"""

from __future__ import annotations

import cv2
import numpy as np
import pdqhash  # type: ignore[import-untyped]

FINGERPRINT_ALG = "com.stillguard.pdq-frames.v1"
HASH_BITS = 256
MATCH_DISTANCE = 31  # PDQ's usual match threshold
MIN_QUALITY = 50  # PDQ's own cut-off: flatter frames hash alike and would match each other
HASH_SIZE = (512, 288)  # frames are shrunk to this before hashing (PDQ works at 64 x 64)
# The mirrors a copy's picture is hashed under, as (undone, flips): the words for what is undone
# (None: nothing) and the axes to flip (1: left-right, 0: upside down).
MIRRORS: tuple[tuple[str | None, tuple[int, ...]], ...] = (
    (None, ()),
    ("mirrored left-right", (1,)),
    ("mirrored upside down", (0,)),
    ("turned half round", (0, 1)),
)


def is_sampled(index: int, fps: float) -> bool:
    """Whether frame `index` is one the fingerprint hashes (the middle frame of each second)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    second = int(index // fps)
    return index == int((second + 0.5) * fps)


def frame_hash(frame: np.ndarray) -> str | None:
    """PDQ hash of one (H, W, 3) uint8 RGB frame as 64 hex digits; None for a featureless frame."""
    small = cv2.resize(frame, HASH_SIZE, interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(np.ascontiguousarray(small))
    if quality < MIN_QUALITY:
        return None
    return _hex(bits)


def mirrored_hashes(picture: np.ndarray) -> list[str] | None:
    """PDQ hashes of a copy's picture with each of MIRRORS undone; None when featureless.

    PDQ's own dihedral variants (pdqhash.compute_dihedral, from one DCT) are exact upside down,
    but the left-right one lies 8-26 bits from the hash of the flipped frame (the 16 photos of
    samples/eval), enough to miss the 16-bit band index; hashing the flipped frame keeps a
    mirrored copy as close as a plain re-encode.
    """
    hashes = []
    for _, flips in MIRRORS:
        bits, quality = pdqhash.compute(np.ascontiguousarray(np.flip(picture, flips)))
        if quality < MIN_QUALITY:
            return None
        hashes.append(_hex(bits))
    return hashes


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def clip_fingerprint(frames: np.ndarray, fps: float) -> list[str]:
    """PDQ hex hashes of the middle frame of each second of `frames` ((N, H, W, 3) uint8 RGB).

    Featureless frames (PDQ quality under 50, e.g. a black frame) are left out: they would
    match any other featureless frame.
    """
    hashes = (frame_hash(frame) for index, frame in enumerate(frames) if is_sampled(index, fps))
    return [value for value in hashes if value is not None]


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(value: str, width: int = 16) -> list[int]:
    """The hash cut into 16-bit bands: two hashes within distance d share >= 16 - d bands."""
    raw = int(value, 16)
    count = HASH_BITS // width
    return [(raw >> (width * (count - 1 - i))) & ((1 << width) - 1) for i in range(count)]
