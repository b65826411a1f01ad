"""Embeddings of fixed texts (the prompt classifier's exemplars), kept on disk between processes.

Embedding the exemplars is most of a prompt classifier's start (about 2.5 s of E5 on two cores,
several times that on a busy machine), and every process that reads prompts starts one: the CLI,
each worker, each test module. The vectors depend only on the encoder and the texts, so they are
stored under a key made of both and loaded by the next process.

The folder is STILLGUARD_CACHE_DIR, else $XDG_CACHE_HOME/stillguard, else ~/.cache/stillguard,
readable by its owner only. A file that is missing, unreadable or not the expected shape is simply
embedded again and rewritten (atomically): the cache can make a start faster, never a score
different. Files are plain .npy arrays read without pickle.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where embeddings are kept (see the module's docstring)."""
    explicit = os.environ.get("STILLGUARD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stillguard"


def cached_embeddings(
    encoder: str, texts: list[str], embed: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """`embed(texts)`, read from the cache when this encoder (a name that changes with its model
    and version) embedded these very texts before; stored there otherwise."""
    key = hashlib.sha256("\0".join([encoder, *texts]).encode("utf-8")).hexdigest()[:40]
    path = cache_dir() / f"embeddings-{key}.npy"
    stored = _load(path, len(texts))
    if stored is not None:
        return stored
    vectors = np.ascontiguousarray(embed(texts), dtype=np.float32)
    _store(path, vectors)
    return vectors


def _load(path: Path, rows: int) -> np.ndarray | None:
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # not there yet, or unreadable: embedded again
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[0] != rows:
        return None
    if not np.isfinite(vectors).all():
        return None
    return vectors


def _store(path: Path, vectors: np.ndarray) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")  # mode 0600
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, vectors, allow_pickle=False)
            os.replace(partial, path)
        finally:
            Path(partial).unlink(missing_ok=True)  # gone already once it was renamed
    except OSError as error:  # a read-only home: the next process embeds again, that is all
        log.warning("cannot keep embeddings in %s: %s", path.parent, error.strerror)
