"""A tiny random-weight open_clip model saved in open_clip's own folder layout.

`open_clip_config.json` (its `model_cfg`) beside `open_clip_pytorch_model.bin`, as open_clip's
models are published: pointing `STILLGUARD_CLIP_CHECKPOINT` at the weights file is the one step
that enables the CLIP categories, and tests take that same path without a download.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
WEIGHTS_NAME = "open_clip_pytorch_model.bin"


def tiny_clip_folder(folder: Path) -> Path:
    """Write the tiny model into `folder`; returns the weights file to point the setting at."""
    import open_clip  # type: ignore[import-untyped]
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": TINY_CLIP_CONFIG, "preprocess_cfg": {}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    model = open_clip.CLIP(**TINY_CLIP_CONFIG)
    weights = folder / WEIGHTS_NAME
    torch.save(model.state_dict(), weights)
    return weights
