"""Where the repository and the sample photos kept in it live, for tests and benchmarks."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "samples"
SAMPLE_PHOTO = SAMPLES / "falcon9-dscovr-launch.jpg"
