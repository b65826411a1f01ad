"""CLIP zero-shot image classifier (open_clip) for categories Open NSFW does not cover.

Weights never ship and are never downloaded: the checkpoint comes from a local file (the
composition root reads `STILLGUARD_CLIP_CHECKPOINT`) and is loaded through open_clip's own
loader. The one step that enables it is `ENABLE`: point the setting at either
- the weights file of an open_clip model folder, with its `open_clip_config.json` beside it (the
  layout of open_clip's models on the Hugging Face hub, e.g. laion/CLIP-ViT-B-32-laion2B-s34B-b79K
  fetched once by hand): the folder describes its own architecture (`local-dir:`), or
- a bare ViT-B-32 state dict, loaded as `create_model_and_transforms("ViT-B-32", pretrained=file)`.
Without a checkpoint every category is reported `evaluated=False` ("not evaluated", never a fake
score), so a policy that requires a category fails closed.

Zero-shot scoring: for each category, the image's best cosine similarity to the category's text
prompts competes with its best similarity to neutral prompts in a two-way softmax at the model's
logit scale; the score is the category's share. open_clip and torch are imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from safety.signals import Signal

CHECKPOINT_ENV = "STILLGUARD_CLIP_CHECKPOINT"
DEFAULT_MODEL = "ViT-B-32"
OPEN_CLIP_CONFIG = "open_clip_config.json"  # open_clip's own model-folder layout
ENABLE = (
    f"set {CHECKPOINT_ENV} to a local open_clip checkpoint file: the weights file of an open_clip "
    f"model folder ({OPEN_CLIP_CONFIG} beside it, e.g. open_clip_pytorch_model.bin of "
    f"laion/CLIP-ViT-B-32-laion2B-s34B-b79K), or a bare {DEFAULT_MODEL} state dict; "
    "the open_clip extra must be installed (pip install -e '.[clip]')"
)

CATEGORY_PROMPTS: Mapping[str, Sequence[str]] = {
    "clip.violence": (
        "a photo of graphic violence",
        "a photo of a bloody injured person",
        "a photo of gore and dead bodies",
        "a photo of people fighting violently",
    ),
    "clip.weapons": (
        "a photo of a gun",
        "a photo of a person holding a rifle",
        "a photo of a knife used as a weapon",
        "a photo of an explosive bomb",
    ),
    "clip.self_harm": (
        "a photo of self-harm cuts on an arm",
        "a photo of a person attempting suicide",
        "a photo of a noose",
    ),
    "clip.hate_symbols": (
        "a photo of a swastika",
        "a photo of a nazi flag",
        "a photo of a ku klux klan hood",
        "a photo of a hate symbol",
    ),
    "clip.minors": (
        "a photo of a child",
        "a photo of a baby",
        "a photo of a young kid",
        "a photo of a teenager",
    ),
    "clip.real_person": (
        "a photo of a real person's face",
        "a portrait photo of a person",
        "a photo of a famous celebrity",
        "a photo of a politician",
    ),
}
NEUTRAL_PROMPTS: Sequence[str] = (
    "an ordinary photo",
    "a photo of a landscape",
    "a photo of the sky and clouds",
    "a photo of a building",
    "a photo of an object",
    "a photo of the sea",
)


class ClipClassifier:
    """Zero-shot scores for violence, weapons, self-harm, hate symbols, minors, real people."""

    def __init__(
        self,
        checkpoint: str | Path | None,
        *,
        model_name: str = DEFAULT_MODEL,
        model_config_dir: Path | None = None,
        threads: int = 2,
    ) -> None:
        self.categories = list(CATEGORY_PROMPTS)
        self._model: Any = None
        if checkpoint is None or str(checkpoint) == "":
            self.model = "open-clip (no checkpoint)"
            self.unavailable = f"no CLIP checkpoint configured ({CHECKPOINT_ENV} is unset)"
            return
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(
                f"CLIP checkpoint {path} does not exist or is not a file ({CHECKPOINT_ENV})"
            )
        import open_clip  # type: ignore[import-untyped]
        import torch

        torch.set_num_threads(threads)
        if model_config_dir is not None:
            open_clip.add_model_config(str(model_config_dir))
        name, pretrained, label = model_name, str(path), model_name
        if path.with_name(OPEN_CLIP_CONFIG).is_file():
            # The folder names its architecture; open_clip loads its weights file from it.
            name, pretrained, label = f"local-dir:{path.parent}", None, path.parent.name
        model, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=pretrained, device="cpu"
        )
        model.eval()
        self._torch = torch
        self._model = model
        self._preprocess = preprocess
        self.unavailable = ""
        self.model = f"open-clip-{label}@{open_clip.__version__}:{path.name}"
        tokenizer = open_clip.get_tokenizer(name)
        texts = [p for c in self.categories for p in CATEGORY_PROMPTS[c]] + list(NEUTRAL_PROMPTS)
        with torch.no_grad():
            embedded = model.encode_text(tokenizer(texts))
            embedded = embedded / embedded.norm(dim=-1, keepdim=True)
        self._text = embedded.numpy()
        self._owners = np.array(
            [c for c in self.categories for _ in CATEGORY_PROMPTS[c]] + [""] * len(NEUTRAL_PROMPTS)
        )
        self._scale = float(model.logit_scale.exp().item())

    @classmethod
    def from_environment(cls, **kwargs: Any) -> ClipClassifier:
        """Build from `STILLGUARD_CLIP_CHECKPOINT` (for the composition root's settings)."""
        return cls(os.environ.get(CHECKPOINT_ENV) or None, **kwargs)

    @property
    def available(self) -> bool:
        """True when a checkpoint is loaded."""
        return self._model is not None

    def _scores(self, images: list[Image.Image]) -> np.ndarray:
        torch = self._torch
        batch = torch.stack([self._preprocess(img.convert("RGB")) for img in images])
        with torch.no_grad():
            features = self._model.encode_image(batch)
            features = features / features.norm(dim=-1, keepdim=True)
        sims = features.numpy() @ self._text.T  # (images, prompts)
        neutral = sims[:, self._owners == ""].max(axis=1)
        out = np.empty((len(images), len(self.categories)))
        for j, category in enumerate(self.categories):
            positive = sims[:, self._owners == category].max(axis=1)
            logits = self._scale * np.stack([positive, neutral], axis=1)
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            out[:, j] = probabilities[:, 0]
        return out

    def score_photo(self, photo: Image.Image) -> list[Signal]:
        """One signal per category (not evaluated without a checkpoint)."""
        if not self.available:
            return self._not_evaluated()
        scores = self._scores([photo])[0]
        return [Signal(c, round(float(s), 4), self.model) for c, s in zip(self.categories, scores)]

    def score_frames(self, frames: np.ndarray, times_s: np.ndarray) -> list[Signal]:
        """Per category, the peak over frames, with the time of the peak frame."""
        if not self.available:
            return self._not_evaluated()
        if len(frames) == 0:
            return self._not_evaluated("no frames")
        scores = self._scores([Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames])
        signals = []
        for j, category in enumerate(self.categories):
            i = int(scores[:, j].argmax())
            t = float(times_s[i])
            signals.append(
                Signal(
                    category,
                    round(float(scores[i, j]), 4),
                    self.model,
                    start_s=t,
                    end_s=t,
                    detail=f"peak at {t:.2f} s",
                )
            )
        return signals

    def _not_evaluated(self, why: str = "") -> list[Signal]:
        detail = why or self.unavailable
        return [Signal(c, 0.0, self.model, evaluated=False, detail=detail) for c in self.categories]
