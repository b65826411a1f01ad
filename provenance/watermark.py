"""An invisible watermark that carries a 32-bit clip id through re-encoding, downscaling and trims.

Why this design (the off-the-shelf watermarks lose their bits to one H.264 encode, see
DEPENDENCIES.md): the mark lives where a video codec and a resize cannot remove it without
visibly changing the picture, at very low spatial frequencies. Each frame is split into a fixed
grid of cells in normalised coordinates (so any resolution and aspect maps onto it); every cell
is raised or lowered by ~1-2 luma levels, smoothly interpolated; the same pattern is in every
frame, so the detector averages all frames and compression noise averages out.

- Code: 32-bit id + CRC-16 -> rate-1/3 convolutional code (K=7) -> 162 coded bits, each spread
  over several cells with pseudo-random signs; a further set of cells carries a known sync
  pattern. Soft-decision Viterbi decoding corrects errors; the CRC, the sync correlation and a
  cap on corrected errors reject unmarked clips (no false ids).
- Host interference is what defeats blind low-frequency watermarks: a photo's own low frequencies
  are tens of levels, the mark one or two. The detector high-passes the cell grid (subtracting a
  blurred copy), and the embedder, which knows the host, cancels the host's own projection onto
  every coded bit (improved spread spectrum, Malvar & Florencio 2003), so on an unedited copy
  the detector sees the mark alone.
- The four corners are left unmarked: the visible label sits in one, and platform logos and
  overlays usually land there.
- Crops: when the uncropped reading fails, the detector searches crop hypotheses (scale and
  offset) on the sync pattern, then decodes the best few.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

WATERMARK_ALG = "com.stillguard.watermark.v1"

GRID_W, GRID_H = 48, 27  # cells across and down, whatever the frame size
CORNER_W, CORNER_H = 12, 5  # cells left unmarked in each corner
SYNC_BITS = 24  # known bits spread like the coded ones: the detector's "is a mark here" test
STEP = 6.0  # quantiser step of each bit's projection, in luma levels (QIM)
MAX_CELL_LEVELS = 6.0  # cap on any cell's change (host compensation can ask for more)
WHITEN_SIGMA = 1.2  # cells: the detector's high-pass subtracts a blur of this width
GROUP_FRAMES = 8  # frames that share one host compensation
SEED = 0x5347_574D  # fixes the cell layout and chip signs: part of the algorithm's identity

ID_BITS, CRC_BITS, TAIL_BITS = 32, 16, 6
_GENERATORS = (0o133, 0o171, 0o165)  # the K=7, rate-1/3 code of many standards
_INFO_BITS = ID_BITS + CRC_BITS
CODED_BITS = (_INFO_BITS + TAIL_BITS) * len(_GENERATORS)
MAX_ERROR_SHARE = 0.2  # more hard-decision errors than this and the reading is refused
MIN_SYNC = 0.5  # least mean sync agreement (-1..1) of a reading
_SUPER_SIZE = (GRID_W * 4, GRID_H * 4)  # averaged luma keeps 4 x 4 pixels per cell


@dataclass
class WatermarkReading:
    """What the detector found: the clip id (None when no mark), and how sure it is."""

    clip_id: int | None
    confidence: float
    bit_errors_corrected: int


@dataclass(frozen=True)
class _Layout:
    """Which cell carries what: a fixed, seeded layout of the grid."""

    basis: np.ndarray  # (BITS, cells) float32: each bit's +-1 chips on its cells, unit norm
    solve: np.ndarray  # (BITS, BITS): inverse of the embed -> detect response between bits


BITS = CODED_BITS + SYNC_BITS


@functools.lru_cache(maxsize=1)
def _layout() -> _Layout:
    rng = np.random.default_rng(SEED)
    marked = np.ones((GRID_H, GRID_W), bool)
    for rows in (slice(0, CORNER_H), slice(GRID_H - CORNER_H, GRID_H)):
        for cols in (slice(0, CORNER_W), slice(GRID_W - CORNER_W, GRID_W)):
            marked[rows, cols] = False
    cells = np.flatnonzero(marked.ravel())
    cells = cells[rng.permutation(cells.size)]
    owner = np.arange(cells.size) % BITS  # bit carried by each marked cell
    chips = rng.choice(np.array([-1.0, 1.0], np.float32), cells.size)
    basis = np.zeros((BITS, GRID_H * GRID_W), np.float32)
    basis[owner, cells] = chips
    basis /= np.linalg.norm(basis, axis=1, keepdims=True)
    # How the detector's projections respond to each bit's pattern after the embedder's
    # upsampling and the detector's downsampling and high-pass: S[k, j] = <q_k, W D U q_j>.
    response = np.stack([basis @ _detector_view(_upsampled(row)) for row in basis], axis=1)
    return _Layout(basis=basis, solve=np.linalg.inv(response).astype(np.float32))


def _upsampled(
    cell_values: np.ndarray, width: int = GRID_W * 8, height: int = GRID_H * 8
) -> np.ndarray:
    """The smooth full-frame pattern for per-cell values (bilinear between cell centres)."""
    grid = cell_values.reshape(GRID_H, GRID_W).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average `image` down to width x height; halving first keeps OpenCV on its fast path."""
    while image.shape[1] >= 4 * width and image.shape[0] >= 4 * height:
        image = cv2.resize(
            image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
        )
    if image.shape[1] % width == 0 and image.shape[0] % height == 0:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    # A fractional ratio under 4 (OpenCV's area path is slow there): linear to twice the size,
    # then an exact 2 x 2 average.
    image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _whiten(grid: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """High-pass the cell grid: subtract a (weighted) blur, which holds most of the host image."""
    if weight is None:
        blur = cv2.GaussianBlur(grid, (0, 0), WHITEN_SIGMA, borderType=cv2.BORDER_REFLECT)
        return (grid - blur).ravel()
    num = cv2.GaussianBlur(grid * weight, (0, 0), WHITEN_SIGMA, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), WHITEN_SIGMA, borderType=cv2.BORDER_REFLECT)
    return ((grid - num / np.maximum(den, 1e-3)) * weight).ravel()


def _detector_view(luma: np.ndarray) -> np.ndarray:
    """The flattened, high-passed cell grid the detector correlates with: luma in, cells out."""
    return _whiten(_shrink(_shrink(luma.astype(np.float32), *_SUPER_SIZE), GRID_W, GRID_H))


def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


# -- the payload code --------------------------------------------------------------------------


def _crc16(value: int) -> int:
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


def _viterbi(soft: np.ndarray) -> list[int]:
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


def _codeword(clip_id: int) -> np.ndarray:
    info = _bits(clip_id, ID_BITS) + _bits(_crc16(clip_id), CRC_BITS)
    return _convolve(info)


# -- embedding ---------------------------------------------------------------------------------


def embed_watermark(frames: np.ndarray, clip_id: int) -> None:
    """Embed `clip_id` (32-bit) into `frames` in place ((N, H, W, 3) uint8 RGB), invisibly."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}"
        )
    if not 0 <= clip_id < 1 << ID_BITS:
        raise ValueError(f"clip_id must be a 32-bit unsigned integer, got {clip_id}")
    layout = _layout()
    height, width = frames.shape[1:3]
    starts = range(0, frames.shape[0], GROUP_FRAMES)
    # One host view per group of frames (its middle frame): the clip's average host is theirs.
    hosts = [
        layout.basis
        @ _grid_view(
            _luma(_shrink(frames[min(s + GROUP_FRAMES // 2, len(frames) - 1)], *_SUPER_SIZE))
        )
        for s in starts
    ]
    # Quantisation index modulation: each bit's projection of the clip's average host is moved
    # to the nearest point of that bit's lattice (bit b: b * STEP + 2 * STEP * k), so the mark
    # costs at most one STEP whatever the photo, and the photo itself never masks it.
    host = np.mean(hosts, axis=0)
    bits = np.append(_codeword(clip_id), _sync_bits()).astype(np.float32)
    target = (np.round((host - bits * STEP) / (2 * STEP)) * 2 + bits) * STEP
    for start, group_host in zip(starts, hosts, strict=True):
        # Every group hits the same target, so any run of frames (a trimmed copy) reads it.
        amplitudes = layout.solve @ (target - group_host)
        cells = np.clip(amplitudes @ layout.basis, -MAX_CELL_LEVELS, MAX_CELL_LEVELS)
        # Upsampling is linear, so raising by the positive part and lowering by the negative
        # part adds the smooth pattern with two saturating uint8 operations per frame.
        raise_by = _full_frame(np.maximum(cells, 0), width, height)
        lower_by = _full_frame(np.maximum(-cells, 0), width, height)
        for frame in frames[start : start + GROUP_FRAMES]:
            cv2.add(frame, raise_by, dst=frame)
            cv2.subtract(frame, lower_by, dst=frame)


def _full_frame(cells: np.ndarray, width: int, height: int) -> np.ndarray:
    """Non-negative per-cell levels as a (height, width, 3) uint8 pattern, rounded."""
    levels = cv2.convertScaleAbs(_upsampled(cells, width, height))
    return cv2.cvtColor(levels, cv2.COLOR_GRAY2RGB)


@functools.lru_cache(maxsize=1)
def _sync_bits() -> np.ndarray:
    return np.random.default_rng(SEED + 1).integers(0, 2, SYNC_BITS).astype(np.int8)


# -- detection ---------------------------------------------------------------------------------


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """Average luma of all frames at a few pixels per cell: what detection works from."""
    total = np.zeros(_SUPER_SIZE[::-1], np.float32)
    for frame in frames:
        total += _luma(_shrink(frame, *_SUPER_SIZE))
    return total / max(1, len(frames))


def _grid_view(luma: np.ndarray) -> np.ndarray:
    return _whiten(_shrink(luma, GRID_W, GRID_H))


def _read(view: np.ndarray) -> WatermarkReading:
    """Decode the high-passed cell grid; a reading only when sync, CRC and error count agree."""
    layout = _layout()
    phase = np.pi * (layout.basis @ view) / STEP
    soft = -np.cos(phase)  # +1 on bit 1's lattice, -1 on bit 0's
    sync = float(np.mean(soft[CODED_BITS:] * (2 * _sync_bits() - 1)))
    coded = soft[:CODED_BITS]
    info = _viterbi(coded)
    clip_id = int("".join(map(str, info[:ID_BITS])), 2)
    crc = int("".join(map(str, info[ID_BITS:])), 2)
    errors = int(np.count_nonzero((coded > 0) != _codeword(clip_id).astype(bool)))
    if crc != _crc16(clip_id) or errors > MAX_ERROR_SHARE * CODED_BITS or sync < MIN_SYNC:
        return WatermarkReading(None, round(max(0.0, sync), 3), errors)
    confidence = min(1.0, max(0.0, sync)) * (1 - errors / CODED_BITS)
    return WatermarkReading(clip_id, round(confidence, 3), errors)


def detect_watermark(frames: np.ndarray) -> WatermarkReading:
    """Read the clip id from decoded frames ((N, H, W, 3) uint8 RGB); clip_id None when absent."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(f"frames must be (N, H, W, 3) RGB, got {frames.shape}")
    return detect_in_luma(mean_luma(frames))


def detect_in_luma(luma: np.ndarray) -> WatermarkReading:
    """Read the clip id from `mean_luma`'s average of a clip's frames."""
    return _read(_grid_view(luma))
