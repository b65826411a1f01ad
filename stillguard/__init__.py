"""Stillguard's composition root: settings, the stages wired together, the CLI and the HTTP API."""

import os

__version__ = "0.1.0"

# OpenBLAS's worker threads spin while they wait for work. On two cores that the renderer, the
# encoder, ONNX Runtime and other jobs already share, the watermark's 1056-wide Cholesky took
# 0.35-1.0 s with OpenBLAS's two threads and 0.03 s with one (2026-12-07, both cores busy), and
# NumPy's products here are small. Set before NumPy loads (every entry point imports this package
# first); an operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
