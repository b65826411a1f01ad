"""Stillguard's composition root: settings, the stages wired together, the CLI and the HTTP API."""

import os

from .allocator import keep_freed_memory

__version__ = "0.1.0"

# Worker threads that spin while they wait for work take the cores from the threads with work, on
# two cores that the renderer, the encoder, ONNX Runtime and other jobs already share. Set before
# the libraries load (every entry point imports this package first); an operator's own setting
# wins.
# - OpenBLAS: the watermark's 1056-wide Cholesky took 0.35-1.0 s with OpenBLAS's two threads and
#   0.03 s with one (2026-12-07, both cores busy), and NumPy's products here are small.
# - OpenMP (the prompt classifier's E5, two threads): a job's input gate took 2.7-3.0 s in the
#   pipeline's process with OpenMP's default wait and 0.17-0.19 s with the passive one (E5 alone
#   2.4-2.6 s; 2026-12-08, both cores loaded); E5 by itself, in a quiet process, 0.07 s either way.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
keep_freed_memory()
