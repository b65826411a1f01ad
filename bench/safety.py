"""Safety layer figures (issue: safety layer): input gate, prompt, output gate, hash lookup.

Models are loaded once, as in a worker; each figure is the median (and p95) of warm runs.

    python -m bench.safety [--runs 7] [--bank-size 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from generation import GenerationOptions, generate_clip
from policies.pack import PolicyPack
from safety.faces import FaceDetector
from safety.flash import flash_check
from safety.hashes import HashBank, HashMatcher, pdq_hash
from safety.image_classifier import ImageClassifier
from safety.photo_intake import load_photo
from safety.prompt_classifier import PromptClassifier
from safety.video_checks import check_clip
from tests.support.samples import SAMPLE_PHOTO

PROMPTS = [
    "clouds drifting over the sea, gentle waves",
    "make her smile and wave at the camera",
    "the rocket lifts off into a clear blue sky, smoke billowing",
    "slow zoom into the mountains at sunset",
]


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median and p95 in ms of `runs` warm calls (one warm-up call first)."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.median(samples)), float(np.percentile(samples, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bank-size", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    images = ImageClassifier(threads=2)
    prompts = PromptClassifier()
    faces = FaceDetector()
    pack = PolicyPack.default()
    data = SAMPLE_PHOTO.read_bytes()
    photo, _ = load_photo(data)

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    bank = HashBank.from_array("bench", rng.integers(0, 256, (args.bank_size, 32), np.uint8))
    bank_build_s = time.perf_counter() - start
    matcher = HashMatcher([bank])
    probe, _ = pdq_hash(photo)

    def input_gate() -> None:
        image, _ = load_photo(data)
        signals = images.score_photo(image) + faces.detect(image) + matcher.match_photo(image)
        signals += prompts.classify(PROMPTS[0])
        pack.decide("input", signals, job_id="bench")

    clip = generate_clip(photo, GenerationOptions(duration_s=5.0, fps=24, width=1280, height=720))
    approved = images.score_photo(photo)

    def output_gate() -> None:
        report = check_clip(
            clip.frames,
            clip.fps,
            classifier=images,
            input_signals=approved,
            input_photo=photo,
            hash_matcher=matcher,
            audio=clip.audio,
            sample_rate=clip.sample_rate,
        )
        pack.decide("output", report.signals, job_id="bench")

    def output_gate_core() -> None:
        report = check_clip(clip.frames, clip.fps, classifier=images, input_signals=approved)
        pack.decide("output", report.signals, job_id="bench")

    sampled = 10
    figures = {
        "input_gate_ms_per_photo": timed(input_gate, args.runs),
        "photo_nsfw_ms": timed(lambda: images.score_photo(photo), args.runs),
        "prompt_ms": timed(lambda: prompts.classify(PROMPTS[2]), args.runs * 3),
        "output_gate_ms_per_5s_720p_clip_all_checks": timed(output_gate, args.runs),
        "output_gate_ms_per_5s_720p_clip_core": timed(output_gate_core, args.runs),
        "flash_check_ms_120_frames_720p": timed(lambda: flash_check(clip.frames, 24), args.runs),
        "hash_lookup_us_at_bank_size": tuple(
            v * 1000 for v in timed(lambda: bank.lookup(probe), args.runs * 20)
        ),
    }
    core_ms = figures["output_gate_ms_per_5s_720p_clip_core"][0]
    result = {
        "machine_note": "2 shared CPU cores; other sessions' work inflates figures",
        "bank_size": args.bank_size,
        "bank_build_s": round(bank_build_s, 2),
        "faces_detector": "available" if faces.available else faces.unavailable,
        "figures": {k: {"p50": round(v[0], 2), "p95": round(v[1], 2)} for k, v in figures.items()},
        "output_gate_sampled_frames_per_s": round(sampled / (core_ms / 1000), 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if key != "figures":
            print(f"{key}: {value}")
    for key, value in result["figures"].items():  # type: ignore[union-attr]
        print(f"{key:48s} p50 {value['p50']:9.2f}   p95 {value['p95']:9.2f}")


if __name__ == "__main__":
    main()
