"""The suite's own encoders give the same bytes for the same frames.

A copy's watermark is read at its limit in several tests (a textured clip shown at half size
inside another picture, a contrast boost that clips). On an AVX-512 CPU libx264's AVX-512 code
encoded such a copy differently from run to run, even on one thread, and one run in four the
mark was lost (tests/test_watermark_inset.py).
"""

from __future__ import annotations

import numpy as np

from tests.support.clip_edits import inset
from tests.support.photo_clips import encode, eval_photo, published_clip
from tests.support.signed_media import encode_clip


def _copy() -> np.ndarray:
    return inset(published_clip(0x5EED_1214, eval_photo("bike-riders.jpg")), 0.5, 0.8, 0.3)


def test_a_copy_is_encoded_the_same_way_every_time() -> None:
    frames = _copy()
    assert len({encode(frames, crf=18) for _ in range(6)}) == 1


def test_a_signed_media_clip_is_encoded_the_same_way_every_time() -> None:
    frames = np.ascontiguousarray(_copy())
    assert len({encode_clip(frames, audio=False) for _ in range(6)}) == 1
