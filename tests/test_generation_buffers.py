"""Frame buffers: a clip's memory is kept for the next clip once nothing reads it any more.

On a virtual machine that hands freed memory back to its host (free page reporting), touching
fresh memory again cost ~4 ms per 720p frame, about half a second of CPU a 5 s clip."""

from __future__ import annotations

import gc

import numpy as np

from generation.buffers import frame_buffer

SHAPE = (12, 360, 640)  # 8.3 MB: past the size where frames get a mapping of their own


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_a_clips_memory_is_used_again_once_its_frames_are_gone() -> None:
    frames = frame_buffer(*SHAPE)
    frames[:] = 7
    first = address(frames)
    del frames
    gc.collect()
    again = frame_buffer(*SHAPE)
    # the same pages, not fresh ones from the kernel (which read as zeros)
    assert address(again) == first
    assert (again == 7).all()


def test_memory_a_frame_still_reads_is_never_handed_out() -> None:
    frames = frame_buffer(*SHAPE)
    frames[:] = 7
    one_frame = frames[5]  # e.g. a sampled frame the output checks still hold
    del frames
    gc.collect()
    other = frame_buffer(*SHAPE)
    other[:] = 200
    assert not np.shares_memory(other, one_frame)
    assert (one_frame == 7).all()


def test_a_smaller_clip_fits_in_a_larger_clips_memory() -> None:
    # more frames than the other tests' clips, so that only this one's memory fits
    large = frame_buffer(SHAPE[0] * 4, *SHAPE[1:])
    large[:] = 7
    first = address(large)
    del large
    gc.collect()
    small = frame_buffer(SHAPE[0] * 3, *SHAPE[1:])
    assert small.shape == (SHAPE[0] * 3, *SHAPE[1:], 3)
    assert small.flags.c_contiguous and small.flags.writeable
    assert address(small) == first
    assert (small == 7).all()
