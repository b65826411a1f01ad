"""Diffusion backends (Stable Video Diffusion, LTX-Video, Wan image-to-video) through diffusers.

Optional: torch and diffusers are imported only when a backend is loaded, so the default
procedural path never imports them. Weights come from a local folder written by
`save_pretrained` (what `STILLGUARD_DIFFUSERS_MODEL` points at); nothing is downloaded.

The model makes a few frames at a model-friendly size; they are resampled in time to the clip's
frame rate and scaled to its size, and the ambient sound comes from the procedural audio (these
models make no sound).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .audio import synthesize_ambient
from .buffers import frame_buffer
from .clip import SAMPLE_RATE, Clip
from .motion_prompt import plan_motion
from .options import GenerationOptions
from .procedural import fit_photo
from .procedural.photo import faces_in_frame
from .scene import analyze_scene
from .timing import Stopwatch


class DiffusionUnavailable(RuntimeError):
    """torch/diffusers are missing, or the model folder is missing or not a supported pipeline."""


@dataclass(frozen=True)
class _Kind:
    name: str
    size_multiple: int  # height and width must be multiples of this
    frames_step: int  # frame counts are k * frames_step + 1 (1: any count)
    default_frames: int
    default_prompt: str = (
        "the scene comes alive: clouds drift, water shimmers, leaves sway, light shifts"
    )
    negative_prompt: str = "worst quality, jittery, distorted, blurry, morphing faces"


KINDS = {
    "StableVideoDiffusionPipeline": _Kind("svd", 64, 1, 14),
    "LTXImageToVideoPipeline": _Kind("ltx", 32, 8, 25),
    "WanImageToVideoPipeline": _Kind("wan", 32, 4, 25),
}
MOTION_BUCKET = {"low": 60, "medium": 127, "high": 200}  # SVD's motion conditioning


def pipeline_class_name(model_dir: Path) -> str:
    """The pipeline class recorded in a saved pipeline's model_index.json."""
    index = Path(model_dir) / "model_index.json"
    try:
        data = json.loads(index.read_text())
    except FileNotFoundError:
        raise DiffusionUnavailable(
            f"{model_dir} is not a saved diffusers pipeline (no model_index.json)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DiffusionUnavailable(f"cannot read {index}: {exc}") from exc
    name = data.get("_class_name", "")
    if name not in KINDS:
        supported = ", ".join(sorted(KINDS))
        raise DiffusionUnavailable(
            f"{model_dir} holds a {name or 'unknown'} pipeline; supported: {supported}"
        )
    return name


def _model_digest(model_dir: Path) -> str:
    """A short digest of the folder's configuration files: which model, not which bytes."""
    digest = hashlib.sha256()
    for path in sorted(Path(model_dir).rglob("*.json")):
        digest.update(str(path.relative_to(model_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class DiffusionBackend:
    """An image-to-video diffusers pipeline from a local folder, behind the generator interface."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str | None = None,
        steps: int = 25,
        model_frames: int | None = None,
        max_side: int = 1024,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.class_name = pipeline_class_name(self.model_dir)
        self.kind = KINDS[self.class_name]
        self.device = device
        self.steps = steps
        self.model_frames = model_frames
        self.max_side = max_side
        self._pipeline: Any = None
        self._version: str | None = None

    @property
    def name(self) -> str:
        return f"diffusers-{self.kind.name}"

    @property
    def version(self) -> str:
        if self._version is None:
            diffusers = _import_diffusers()
            self._version = (
                f"diffusers {diffusers.__version__}; model {_model_digest(self.model_dir)}"
            )
        return self._version

    def load(self) -> Any:
        """Loads the pipeline once (on CUDA in half precision when a GPU is present)."""
        if self._pipeline is not None:
            return self._pipeline
        diffusers = _import_diffusers()
        import torch

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float32
        if device.startswith("cuda"):
            dtype = torch.float16 if self.kind.name == "svd" else torch.bfloat16
        pipeline_class = getattr(diffusers, self.class_name)
        try:
            pipeline = pipeline_class.from_pretrained(str(self.model_dir), dtype=dtype)
        except (OSError, ValueError, TypeError) as exc:
            raise DiffusionUnavailable(
                f"cannot load {self.class_name} from {self.model_dir}: {exc}"
            ) from exc
        pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        self.device = device
        self._pipeline = pipeline
        return pipeline

    def _model_size(self, width: int, height: int) -> tuple[int, int]:
        m = self.kind.size_multiple
        scale = min(1.0, self.max_side / max(width, height))
        return max(m, round(width * scale / m) * m), max(m, round(height * scale / m) * m)

    def _frame_count(self) -> int:
        wanted = self.model_frames or self.kind.default_frames
        step = self.kind.frames_step
        return max(2, wanted) if step == 1 else max(1, round((wanted - 1) / step)) * step + 1

    def generate(
        self,
        photo: Image.Image,
        options: GenerationOptions,
        *,
        timings: dict[str, float] | None = None,
        prompt: str = "",
        faces: Sequence[Sequence[float]] | None = None,
    ) -> Clip:
        """Makes a clip like the procedural backend's: same size, rate, length and sound."""
        import torch

        options.validate()
        marks = Stopwatch(timings)
        image = fit_photo(photo, options.width, options.height)
        scene = analyze_scene(
            image, faces=faces_in_frame(photo, options.width, options.height, faces)
        )
        marks("analysis")
        pipeline = self.load()
        marks("load")
        model_w, model_h = self._model_size(options.width, options.height)
        condition = Image.fromarray(
            cv2.resize(image, (model_w, model_h), interpolation=cv2.INTER_AREA)
        )
        generator = torch.Generator(device="cpu").manual_seed(options.seed)
        count = self._frame_count()
        arguments: dict[str, Any] = {
            "image": condition,
            "height": model_h,
            "width": model_w,
            "num_frames": count,
            "num_inference_steps": self.steps,
            "generator": generator,
            "output_type": "np",
        }
        if self.kind.name == "svd":
            arguments.update(
                motion_bucket_id=MOTION_BUCKET[options.motion],
                fps=min(30, options.fps),
                decode_chunk_size=8,
            )
        else:
            text = prompt or options.motion_prompt or self.kind.default_prompt
            arguments.update(prompt=text, negative_prompt=self.kind.negative_prompt)
        with torch.inference_mode():
            made = pipeline(**arguments).frames[0]
        marks("diffusion")
        frames = _to_clip_frames(np.asarray(made), options)
        marks("resample")
        audio = None
        sound: dict[str, Any] = {"layers": []}
        if options.audio:
            samples = round(frames.shape[0] * SAMPLE_RATE / options.fps)
            audio, sound = synthesize_ambient(
                scene, options, plan_motion(scene, options), samples=samples
            )
        marks("audio")
        return Clip(
            frames=frames,
            fps=options.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
            backend=self.name,
            backend_version=self.version,
            scene={
                **scene.to_dict(),
                "motions": [
                    {
                        "region": "all",
                        "kind": f"{self.kind.name} image-to-video",
                        "model_frames": count,
                        "model_size": [model_w, model_h],
                        "steps": self.steps,
                    }
                ],
                "audio_layers": [layer["layer"] for layer in sound["layers"]],
                "audio": sound,
                "style": options.style,
                "motion": options.motion,
                "loop": options.loop,
            },
        )


def _to_clip_frames(made: np.ndarray, options: GenerationOptions) -> np.ndarray:
    """Model frames (n, h, w, 3) floats in [0, 1] to the clip's frame count (blending neighbours;
    a loop plays forward then back) and size."""
    model = np.clip(made * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if model.ndim == 3:
        model = model[None]
    n = model.shape[0]
    total = options.frame_count
    frames = frame_buffer(total, options.height, options.width)
    for i in range(total):
        u = i / max(1, total - 1)
        if options.loop:
            u = 1.0 - abs(2.0 * (i / total) - 1.0)
        position = u * (n - 1)
        low = min(n - 1, math.floor(position))
        high = min(n - 1, low + 1)
        frac = position - low
        mixed = (
            model[low]
            if frac < 1e-6
            else cv2.addWeighted(model[low], 1.0 - frac, model[high], frac, 0.0)
        )
        cv2.resize(
            mixed, (options.width, options.height), dst=frames[i], interpolation=cv2.INTER_LINEAR
        )
    return frames


def _import_diffusers() -> Any:
    try:
        import diffusers
    except ImportError as exc:
        raise DiffusionUnavailable(
            "the diffusion backends need torch and diffusers (pip install diffusers)"
        ) from exc
    return diffusers
