"""What a cold `stillguard run` imports (issue 16): the soundtrack's loudness and its audio checks
do not pull in scipy.signal and scipy.stats, which took ~0.5 s of a cold `run` through
pyloudnorm (bench/cold_start.py: median 5726 -> 4593 ms without them, 2026-12-07)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.samples import REPO_ROOT

_PROBE = """
import sys
from PIL import Image
from generation import GenerationOptions, generate_clip
from safety.audio_checks import audio_checks
clip = generate_clip(Image.new("RGB", (128, 64), (90, 140, 200)),
                     GenerationOptions(duration_s=1, fps=12, width=128, height=64))
signals = audio_checks(clip.audio, clip.sample_rate)
assert all(s.evaluated for s in signals), signals
print(" ".join(m for m in ("scipy.signal", "scipy.stats") if m in sys.modules) or "none")
"""


def test_making_and_checking_a_soundtrack_loads_no_scipy_signal() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.split()[-1] == "none"
