"""The C allocator keeps the memory a job frees for the next job, instead of unmapping it.

glibc serves blocks over 128 KB (raised as blocks are freed, to at most 32 MB) with mappings of
their own, unmapped on free, and trims the heap's free top past twice that. On a virtual machine
that reports free pages to its host (Firecracker's free page reporting, as on the machine the
issue 16 figures come from), the host takes such memory within seconds, and touching it again
costs a page fault per page. A 5 s 720p job in a warm process, jobs 4 s apart: 14,000-17,000
minor faults and generation p50 830-1000 ms by default; 65-2,000 faults and 625-690 ms with the
values below (2026-12-07, 5 jobs each). The frame buffers, larger still, are kept by
`generation.buffers`. The cost: a process keeps its peak heap resident, up to TRIM_BYTES free in
each of glibc's arenas (one per thread that allocates, up to 8 per core): 8 threads that each
freed 120 MB kept 480 MB in a review of this change.
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_BYTES = 32 * 1024 * 1024  # glibc's largest: bigger blocks are still mapped and unmapped
TRIM_BYTES = 1024 * 1024 * 1024  # free memory at the heap's top past this goes back


def keep_freed_memory() -> None:
    """Sets glibc's thresholds, unless the operator set the allocator (GLIBC_TUNABLES or the
    MALLOC_*_ variables) or the C library is not glibc."""
    tuned = "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "")
    if tuned or any(name.startswith("MALLOC_") for name in os.environ):
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (ValueError, OSError):  # not glibc, or a platform without confstr
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)
    mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES)
