"""Diffusion backends: tiny random-weight pipelines, saved and loaded back from a local folder."""

import json
import subprocess
import sys

import numpy as np
import pytest

from generation import GenerationOptions
from tests.support.synthetic_photos import landscape_photo
from tests.support.tiny_diffusion import TINY_PIPELINES

TINY = {"width": 96, "height": 64, "duration_s": 1.0, "fps": 8}


def test_the_default_path_imports_neither_torch_nor_diffusers():
    code = (
        "import sys, generation, generation.procedural, generation.encode;"
        "print('diffusers' in sys.modules, 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_folder_without_a_pipeline_is_refused_clearly(tmp_path):
    from generation.diffusion import DiffusionBackend, DiffusionUnavailable

    with pytest.raises(DiffusionUnavailable, match="no model_index.json"):
        DiffusionBackend(tmp_path)
    (tmp_path / "model_index.json").write_text(
        json.dumps({"_class_name": "StableDiffusionPipeline"})
    )
    with pytest.raises(DiffusionUnavailable, match="supported: "):
        DiffusionBackend(tmp_path)


@pytest.fixture(scope="module", params=sorted(TINY_PIPELINES))
def saved_pipeline(request, tmp_path_factory):
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    TINY_PIPELINES[request.param](torch, diffusers).save_pretrained(folder)
    return request.param, folder


def test_tiny_pipeline_loads_from_its_folder_and_makes_a_clip(saved_pipeline):
    from generation.diffusion import DiffusionBackend

    kind, folder = saved_pipeline
    frames = 3 if kind == "svd" else 9  # LTX needs 8k+1 frames, Wan 4k+1
    backend = DiffusionBackend(folder, device="cpu", steps=2, model_frames=frames, max_side=64)
    timings: dict[str, float] = {}
    clip = backend.generate(landscape_photo(128, 96), GenerationOptions(**TINY), timings=timings)
    assert clip.backend == f"diffusers-{kind}"
    assert clip.backend_version.startswith("diffusers ")
    assert clip.frames.shape == (8, 64, 96, 3) and clip.frames.dtype == np.uint8
    assert clip.audio is not None and clip.audio.shape == (2, 48000)
    assert {"analysis", "load", "diffusion", "resample", "audio"} <= set(timings)
    again = backend.generate(landscape_photo(128, 96), GenerationOptions(**TINY))
    assert np.array_equal(clip.frames, again.frames)
