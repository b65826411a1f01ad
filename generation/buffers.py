"""Large frame buffers: backed by transparent huge pages, and kept for the next clip.

A 5 s 720p clip is 330 MB of frames. Filling freshly allocated memory costs a page fault per
4 KiB page, which on these machines added ~3.5 ms to every 720p frame (more than the warp itself);
memory advised for huge pages faults 2 MiB at a time (measured ~0.8 ms a frame).

Memory handed back to the kernel costs that again on a virtual machine that reports free pages to
its host (Firecracker's free page reporting, as on the machine these figures come from): the host
takes the pages within seconds, and touching them again cost 3.7-4.9 ms a 720p frame, against
0.35 ms for memory the process kept (2026-12-07). So a clip's mapping is not unmapped when its
frames are gone: up to IDLE_BUFFERS mappings wait for the next clip, which overwrites every frame.
"""

from __future__ import annotations

import mmap
import threading
import weakref

import numpy as np

SEPARATE_MAPPING_BYTES = 4 * 1024 * 1024  # smaller buffers come from NumPy's allocator
# Idle mappings kept: one per relay thread of an embedded `serve` by default (at most 2 x 330 MB
# at 720p, 2 x 750 MB for Stories clips, memory the jobs needed anyway).
IDLE_BUFFERS = 2

_idle: list[mmap.mmap] = []
# Reentrant: a buffer freed by the garbage collector runs `_keep_idle` in whatever thread the
# collection ran, possibly one inside `_take_idle` already holding the lock.
_idle_lock = threading.RLock()


def frame_buffer(count: int, height: int, width: int, channels: int = 3) -> np.ndarray:
    """A writable, C-contiguous (count, height, width, channels) uint8 array whose contents are
    undefined (possibly an earlier clip's frames): the caller writes every element it reads."""
    shape = (count, height, width, channels)
    size = count * height * width * channels
    if size < SEPARATE_MAPPING_BYTES or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty(shape, np.uint8)
    memory = _take_idle(size) or _new_mapping(size)
    # Every view of `whole` keeps it alive (NumPy points views at it, not at the mapping), so
    # the mapping goes back to the idle list only once no frame of this clip is referenced.
    whole = np.frombuffer(memory, dtype=np.uint8, count=size)
    weakref.finalize(whole, _keep_idle, memory)
    return whole.reshape(shape)


def _new_mapping(size: int) -> mmap.mmap:
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        memory.madvise(mmap.MADV_HUGEPAGE)
    except OSError:
        pass  # the kernel may refuse the advice; the buffer still works
    return memory


def _take_idle(size: int) -> mmap.mmap | None:
    """The smallest idle mapping that holds `size` bytes, taken off the list; None if none."""
    with _idle_lock:
        fitting = [memory for memory in _idle if len(memory) >= size]
        if not fitting:
            return None
        chosen = min(fitting, key=len)
        _idle.remove(chosen)
        return chosen


def _keep_idle(memory: mmap.mmap) -> None:
    """Called when a buffer's last view is gone. Beyond IDLE_BUFFERS the smallest mapping is
    dropped, and unmapped once the array that is being freed lets go of it."""
    with _idle_lock:
        _idle.append(memory)
        if len(_idle) > IDLE_BUFFERS:
            _idle.remove(min(_idle, key=len))
