"""Frames rendered in threads, one per core, and handed on in order as soon as they are done.

Each thread renders every n-th frame (n threads), so the threads advance side by side and the
frames finish nearly in order: a consumer in the calling thread (an encoder) can take frame i
while later ones are still being rendered, instead of waiting for the whole clip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2

MAX_RENDER_THREADS = 8


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _Progress:
    """Which frames are done; a waiter wakes when its frame is done or the work has stopped."""

    def __init__(self, count: int) -> None:
        self._done = [False] * count
        self._changed = threading.Condition()
        self.stopped = False

    def mark(self, index: int) -> None:
        with self._changed:
            self._done[index] = True
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            self._changed.notify_all()

    def wait_for(self, index: int) -> bool:
        """True once frame `index` is done; False if the work stopped before it was."""
        with self._changed:
            self._changed.wait_for(lambda: self._done[index] or self.stopped)
            return self._done[index]


def render_in_threads(
    count: int,
    frame_renderer: Callable[[], Callable[[int], None]],
    *,
    on_frame: Callable[[int], None] | None = None,
) -> None:
    """Renders frames 0 .. count-1, one thread per core. `frame_renderer` is called once in each
    thread and gives that thread's frame function (so scratch buffers are per thread).
    `on_frame(i)`, if given, runs in the calling thread, in frame order, as soon as frames 0 .. i
    are all done. An error in a frame or in `on_frame` stops the rest and is raised here.

    OpenCV's own thread pool is set to one thread meanwhile: frame-level parallelism costs less
    CPU than splitting each call (measured)."""
    workers = max(1, min(MAX_RENDER_THREADS, usable_cores(), count))
    if workers == 1:
        render = frame_renderer()
        for index in range(count):
            render(index)
            if on_frame is not None:
                on_frame(index)
        return
    progress = _Progress(count)

    def run(indices: range) -> None:
        try:
            render = frame_renderer()
            for index in indices:
                if progress.stopped:
                    return
                render(index)
                progress.mark(index)
        except BaseException:
            progress.stop()
            raise

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="stillguard-render"
        ) as pool:
            futures = [pool.submit(run, range(k, count, workers)) for k in range(workers)]
            try:
                if on_frame is not None:
                    for index in range(count):
                        if not progress.wait_for(index):
                            break  # a frame failed: its error is raised below
                        on_frame(index)
            except BaseException:
                progress.stop()
                raise
            for future in futures:
                future.result()
    finally:
        cv2.setNumThreads(previous)
