"""The age estimate on FairFace (issue 12): how often a face of each age band reads as a minor.

    python -m bench.age_eval --fairface DIR

DIR is the `fairface/` folder of GitHub `thlaiquid-ai/demographic-test-images` (540 FairFace
faces, 60 per age band, 224 x 224, with `ground_truth.json`; FairFace is CC BY 4.0, Karkkainen
and Joo, WACV 2021); it is not committed (four of its faces are, in samples/faces/ages). Faces
are found by the face detector, as in the input gate; where it finds none, the whole picture is
taken as the face (counted in "no face found"). Prints, per band, the faces whose `faces.minor`
score reaches the default pack's 0.5 (an apparent age of 18.5 or less) and those under 25, and
the time per face.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from safety.age import AgeEstimator, minor_score
from safety.faces import FaceBox, FaceDetector

BANDS = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"]
MINOR_THRESHOLD = 0.5  # the default pack's faces_minor threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fairface", type=Path, required=True, help="the fairface/ folder")
    args = parser.parse_args()
    truth = json.loads((args.fairface / "ground_truth.json").read_text("utf-8"))
    detector, estimator = FaceDetector(), AgeEstimator()
    if not estimator.available:
        raise SystemExit(estimator.unavailable)
    ages: dict[str, list[int]] = defaultdict(list)
    missed: dict[str, int] = defaultdict(int)
    seconds = 0.0
    for item in truth:
        photo = Image.open(args.fairface / item["filename"]).convert("RGB")
        faces = detector.find(photo)[:1]
        if not faces:
            missed[item["age"]] += 1
            faces = [FaceBox(0.0, 0.0, 1.0, 1.0, 0.0)]
        start = time.perf_counter()
        ages[item["age"]] += estimator.ages(photo, faces)
        seconds += time.perf_counter() - start
    print(f"{'band':>6} {'faces':>6} {'minor (>= 0.5)':>15} {'under 25':>9} {'no face found':>14}")
    for band in BANDS:
        found = ages[band]
        minor = sum(minor_score(a) >= MINOR_THRESHOLD for a in found)
        young = sum(a < 25 for a in found)
        print(f"{band:>6} {len(found):>6} {minor:>15} {young:>9} {missed[band]:>14}")
    children = [a for band in ("0-2", "3-9") for a in ages[band]]
    adults = [a for band in BANDS[3:] for a in ages[band]]
    caught = sum(minor_score(a) >= MINOR_THRESHOLD for a in children)
    flagged = sum(minor_score(a) >= MINOR_THRESHOLD for a in adults)
    total = sum(len(v) for v in ages.values())
    print(
        f"children 0-9 read as minors: {caught}/{len(children)}; adults 20+: {flagged}/"
        f"{len(adults)}; {seconds / total * 1000:.1f} ms a face"
    )


if __name__ == "__main__":
    main()
