"""Large frame buffers backed by transparent huge pages.

A 5 s 720p clip is 330 MB of frames. Filling freshly allocated memory costs a page fault per
4 KiB page, which on these machines added ~3.5 ms to every 720p frame (more than the warp itself);
memory advised for huge pages faults 2 MiB at a time (measured ~0.8 ms a frame).
"""

from __future__ import annotations

import mmap

import numpy as np


def frame_buffer(count: int, height: int, width: int, channels: int = 3) -> np.ndarray:
    """An uninitialised, writable, C-contiguous (count, height, width, channels) uint8 array."""
    size = count * height * width * channels
    if size < 4 * 1024 * 1024 or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty((count, height, width, channels), np.uint8)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        memory.madvise(mmap.MADV_HUGEPAGE)
    except OSError:
        pass  # the kernel may refuse the advice; the buffer still works
    return np.frombuffer(memory, dtype=np.uint8).reshape(count, height, width, channels)
