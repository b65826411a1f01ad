"""ONNX Runtime sessions that share two cores politely with the renderer and the encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def quiet_session(model: Path, threads: int) -> Any:
    """A CPU session of `threads` intra-op threads whose idle workers sleep instead of spinning.

    ONNX Runtime's default keeps its workers spinning between calls; in a process that renders,
    encodes and scores at once (embedded `serve` overlaps jobs' stages) they take the cores the
    other stages are using."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
