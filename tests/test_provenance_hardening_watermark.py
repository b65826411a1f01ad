"""The watermark under the edits that move a fingerprint: colour changes, overlays, crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from provenance.watermark import detect_watermark, embed_watermark
from tests.test_provenance_durable_support import animate, decode, encode, photo

CLIP_ID = 0x5EED_0003


@pytest.fixture(scope="module")
def published() -> np.ndarray:
    """A marked 480 x 270, 2 s clip as the platform publishes it, decoded."""
    frames = animate(photo(0))
    embed_watermark(frames, CLIP_ID)
    return decode(encode(frames, crf=18))


def _contrast(frames: np.ndarray, gain: float) -> np.ndarray:
    return np.clip((frames.astype(np.float32) - 128) * gain + 128, 0, 255).astype(np.uint8)


def _brightness(frames: np.ndarray, levels: int) -> np.ndarray:
    return np.clip(frames.astype(np.int16) + levels, 0, 255).astype(np.uint8)


def _overlay(frames: np.ndarray) -> np.ndarray:
    """A light logo box with text over ~10 % of the frame, away from the corners."""
    out = frames.copy()
    height, width = frames.shape[1:3]
    top, left = int(0.55 * height), int(0.35 * width)
    bottom, right = top + int(0.3 * height), left + int(0.33 * width)
    out[:, top:bottom, left:right] = (240, 240, 240)
    for frame in out:
        cv2.putText(
            frame, "LOGO", (left + 8, bottom - 8), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 200), 3
        )
    return out


def _crop(frames: np.ndarray, share: float) -> np.ndarray:
    """Cut `share` off every side, then scale back to the original size."""
    height, width = frames.shape[1:3]
    dy, dx = int(share * height), int(share * width)
    return np.stack(
        [cv2.resize(f[dy : height - dy, dx : width - dx], (width, height)) for f in frames]
    )


@pytest.mark.parametrize("levels", [40, -40])
def test_watermark_survives_a_brightness_shift_then_crf_28(
    published: np.ndarray, levels: int
) -> None:
    copy = decode(encode(_brightness(published, levels), crf=28))
    assert detect_watermark(copy).clip_id == CLIP_ID


@pytest.mark.parametrize("gain", [0.6, 1.4, 1.6])
def test_watermark_survives_a_contrast_change_then_crf_28(
    published: np.ndarray, gain: float
) -> None:
    copy = decode(encode(_contrast(published, gain), crf=28))
    assert detect_watermark(copy).clip_id == CLIP_ID


def test_watermark_survives_a_logo_overlay_then_crf_28(published: np.ndarray) -> None:
    copy = decode(encode(_overlay(published), crf=28))
    assert detect_watermark(copy).clip_id == CLIP_ID


@pytest.mark.xfail(strict=True, reason="crops are not searched yet; the fingerprint covers them")
def test_watermark_survives_a_5_percent_crop(published: np.ndarray) -> None:
    copy = decode(encode(_crop(published, 0.05), crf=23))
    assert detect_watermark(copy).clip_id == CLIP_ID


def test_edited_unmarked_clips_never_decode_to_an_id() -> None:
    # The gain and geometry searches try many readings: CRC, sync and the error cap still hold.
    for seed in (4, 5):
        frames = decode(encode(animate(photo(seed), count=24), crf=23))
        for edited in (frames, _contrast(frames, 1.5), _overlay(_brightness(frames, -30))):
            assert detect_watermark(edited).clip_id is None
