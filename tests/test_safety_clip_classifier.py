"""CLIP zero-shot classifier: loaded through open_clip's own loader from a tiny local checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from policies.pack import PolicyPack
from safety.clip_classifier import ClipClassifier
from stillguard.settings import Settings
from tests.support.tiny_clip import TINY_CLIP_CONFIG, tiny_clip_folder

open_clip = pytest.importorskip("open_clip", reason="open_clip is an optional extra")
torch = pytest.importorskip("torch")

TINY = TINY_CLIP_CONFIG


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random-weight tiny CLIP saved to disk, to prove the real loading path."""
    folder = tmp_path_factory.mktemp("clip")
    configs = folder / "configs"
    configs.mkdir()
    (configs / "sg-tiny-clip.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(str(configs))
    torch.manual_seed(0)
    model = open_clip.create_model("sg-tiny-clip", pretrained=None)
    checkpoint = folder / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint, configs


def test_without_a_checkpoint_every_category_is_not_evaluated() -> None:
    classifier = ClipClassifier(None)
    signals = classifier.score_photo(Image.new("RGB", (64, 64)))
    assert {s.category for s in signals} >= {
        "clip.violence",
        "clip.weapons",
        "clip.minors",
        "clip.real_person",
    }
    assert all(not s.evaluated and "STILLGUARD_CLIP_CHECKPOINT" in s.detail for s in signals)


def test_a_policy_requiring_clip_categories_fails_closed_without_a_checkpoint() -> None:
    pack = PolicyPack.from_yaml(
        'version: "t"\nstages:\n  input:\n    rules:\n      - {id: weapons, category: '
        "clip.weapons, threshold: 0.9, action: block, require: true}\n"
        "  output: {default_action: allow, rules: []}\n"  # a pack defines every stage
    )
    signals = ClipClassifier(None).score_photo(Image.new("RGB", (8, 8)))
    assert pack.decide("input", signals, job_id="j").action == "review"


def test_missing_checkpoint_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ClipClassifier(tmp_path / "nope.pt")


def test_tiny_checkpoint_loads_and_scores(tiny_checkpoint: tuple[Path, Path]) -> None:
    checkpoint, configs = tiny_checkpoint
    classifier = ClipClassifier(checkpoint, model_name="sg-tiny-clip", model_config_dir=configs)
    assert classifier.available and "sg-tiny-clip" in classifier.model
    photo = classifier.score_photo(Image.new("RGB", (48, 40), (200, 30, 30)))
    assert all(s.evaluated and 0.0 <= s.score <= 1.0 for s in photo)
    frames = np.zeros((3, 40, 48, 3), np.uint8)
    frames[2] = 255
    signals = classifier.score_frames(frames, np.array([0.0, 0.5, 1.0]))
    assert len(signals) == len(classifier.categories)
    assert all(s.start_s in (0.0, 0.5, 1.0) for s in signals)


def test_the_setting_alone_enables_clip_from_an_open_clip_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one documented step: STILLGUARD_CLIP_CHECKPOINT names the weights file of a folder in
    # open_clip's layout (open_clip_config.json beside it); no model name, no config folder.
    weights = tiny_clip_folder(tmp_path / "tiny-open-clip")
    monkeypatch.setenv("STILLGUARD_CLIP_CHECKPOINT", str(weights))
    classifier = ClipClassifier(Settings.from_env().clip_checkpoint)
    assert classifier.available and classifier.model.startswith("open-clip-tiny-open-clip@")
    signals = classifier.score_photo(Image.new("RGB", (48, 40), (30, 200, 30)))
    assert {s.category for s in signals} == set(classifier.categories)
    assert all(s.evaluated and 0.0 <= s.score <= 1.0 for s in signals)
