"""The watermark's payload code: a 32-bit id, its CRC-16 and a K=7, rate-1/3 convolutional code.

A codeword is 162 bits ((32 + 16 + 6 tail) x 3); the Viterbi decoder takes soft values (+-1, 0
for unseen), so bits hidden by a crop or an overlay cost no more than erasures.
"""

from __future__ import annotations

import functools

import numpy as np

# The soft-binding algorithm a mark is read by (here, where sign.py reads it without OpenCV).
# v2 (2026-12-07): QIM step 4 levels (was 3) and each group's host cancelling scaled under the
# cell cap instead of clipped. A v1 mark does not read with this detector; a v1 soft binding's
# value is still a clip id, so the registry still resolves it (WATERMARK_ALGS).
WATERMARK_ALG = "com.stillguard.watermark.v2"
WATERMARK_ALGS = (WATERMARK_ALG, "com.stillguard.watermark.v1")

ID_BITS, CRC_BITS, TAIL_BITS = 32, 16, 6
_GENERATORS = (0o133, 0o171, 0o165)  # the K=7, rate-1/3 code of many standards
_INFO_BITS = ID_BITS + CRC_BITS
CODED_BITS = (_INFO_BITS + TAIL_BITS) * len(_GENERATORS)


def crc16(value: int) -> int:
    """CRC-16/CCITT-FALSE of the id's four big-endian bytes."""
    crc = 0xFFFF
    for byte in value.to_bytes(4, "big"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _bits(value: int, count: int) -> list[int]:
    return [(value >> (count - 1 - i)) & 1 for i in range(count)]


def _parity(value: int) -> int:
    return value.bit_count() & 1


def _convolve(info: list[int]) -> np.ndarray:
    """Rate-1/3 convolutional encoding of `info` plus the zero tail that ends in state 0."""
    state, out = 0, list[int]()
    for bit in [*info, *([0] * TAIL_BITS)]:
        register = (bit << TAIL_BITS) | state
        out.extend(_parity(register & g) for g in _GENERATORS)
        state = register >> 1
    return np.array(out, np.int8)


@functools.lru_cache(maxsize=1)
def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """For each (state, input bit): the next state and the three output symbols as +-1."""
    states = 1 << TAIL_BITS
    nxt = np.zeros((states, 2), np.int64)
    sym = np.zeros((states, 2, len(_GENERATORS)), np.float32)
    for state in range(states):
        for bit in (0, 1):
            register = (bit << TAIL_BITS) | state
            nxt[state, bit] = register >> 1
            sym[state, bit] = [2 * _parity(register & g) - 1 for g in _GENERATORS]
    return nxt, sym


def viterbi(soft: np.ndarray) -> list[int]:
    """Most likely info bits for soft coded values (positive means 1), ending in state 0."""
    nxt, sym = _trellis()
    states, n = nxt.shape[0], len(_GENERATORS)
    # Into new state s the input bit is s's top bit and the old state is (s << 1 | b) & mask.
    new_states = np.arange(states)
    bit_in = new_states >> (TAIL_BITS - 1)
    previous = ((new_states[:, None] << 1) | np.array([0, 1])) & (states - 1)  # (states, 2)
    metric = np.full(states, -np.inf, np.float32)
    metric[0] = 0.0
    history = []
    for step in range(soft.size // n):
        gains = sym[previous, bit_in[:, None]] @ soft[step * n : (step + 1) * n]  # (states, 2)
        candidates = metric[previous] + gains
        choice = np.argmax(candidates, axis=1)
        metric = candidates[new_states, choice]
        history.append(previous[new_states, choice])
    state, bits = 0, []
    for back in reversed(history):
        bits.append(int(state >> (TAIL_BITS - 1)))
        state = int(back[state])
    bits.reverse()
    return bits[: soft.size // n - TAIL_BITS]


def codeword(clip_id: int) -> np.ndarray:
    """The coded bits (0/1) that carry `clip_id` and its CRC."""
    info = _bits(clip_id, ID_BITS) + _bits(crc16(clip_id), CRC_BITS)
    return _convolve(info)
