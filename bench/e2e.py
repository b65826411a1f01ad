"""End-to-end latency of `run` for a 5 s 720p clip, per stage (issue: the whole journey).

Prints p50/p95 over warm runs in one process (models loaded once, as in `serve` or a worker), and
the wall time of a cold `stillguard run` process (imports and model loading included). Each warm
run has a prompt of its own, as users' jobs do: the same prompt every run would be read from the
prompt classifier's cache after the first. `--size 1080x1920` measures a Stories clip. `--gap S`
waits S seconds between warm runs, as jobs that do not arrive back to back: on a virtual machine
that reports free pages to its host, memory freed seconds ago costs page faults again.

    python -m bench.e2e [--runs 7] [--cold-runs 1] [--size 1280x720] [--gap 0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stillguard.container import open_store
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest
from stillguard.settings import Settings
from tests.support.samples import REPO_ROOT, SAMPLE_PHOTO

STAGES = [
    "input_gate",
    "generation",
    "label",
    "watermark",
    "fingerprint",
    "encode",  # the encoder's own time, overlapped with the frame scan
    "frame_scan",  # the output gate's checks on the frames, while they are encoded
    "encode_and_scan",
    "output_gate",
    "sign",
    "verify",
    "audit",
    "total",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def overhead(run: dict[str, float]) -> float:
    """Everything but generating and encoding (the gates, label, watermark, fingerprint, what the
    frame scan adds past the encoder, signing, verifying, audit and the pipeline between them),
    as a share of generating and encoding: what safety and provenance cost a job."""
    made = run["generation"] + run["encode"]
    return (run["total"] - made) / made


# what users type: motion words with a scene, none of them unsafe
PROMPTS = [
    "clouds drifting, gentle waves",
    "slow clouds moving left over the sea",
    "a calm evening, the water barely moving",
    "wind in the trees and waves rolling in",
    "clouds racing across a bright sky",
    "a quiet morning with a light breeze",
    "soft light, the sea glittering",
    "drifting clouds and a slow zoom",
]


def warm_runs(runs: int, home: Path, size: str, gap_s: float) -> list[dict[str, float]]:
    settings = Settings.from_env(
        {"STILLGUARD_HOME": str(home), "STILLGUARD_KEY_PASSPHRASE": "bench"}
    )
    runner = LocalRunner(settings, open_store(settings))
    request = JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(),
        prompt="birds over the water",  # the warm-up's own: not one the runs use
        options={"duration_s": 5, "fps": 24, "size": size},
        submitter="cli",
    )
    runner.run(request, None)  # loads models and keys; not counted
    results = []
    for i in range(runs):
        time.sleep(gap_s)
        options = {**request.options, "seed": i}
        prompt = f"{PROMPTS[i % len(PROMPTS)]} ({i})" if i >= len(PROMPTS) else PROMPTS[i]
        outcome = runner.run(
            JobRequest(**{**request.__dict__, "prompt": prompt, "options": options}), None
        )
        assert outcome.job.status == "published", outcome.to_dict()
        results.append(outcome.trail.timings_ms)
    return results


def cold_run(home: Path) -> float:
    out = home / "cold.mp4"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "stillguard",
            "run",
            str(SAMPLE_PHOTO),
            "--out",
            str(out),
            "--json",
        ],
        check=True,
        capture_output=True,
        env={
            "STILLGUARD_HOME": str(home),
            "STILLGUARD_KEY_PASSPHRASE": "bench",
            "PATH": "/usr/bin:/bin",
        },
        cwd=REPO_ROOT,
    )
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--size", default="1280x720", help="WxH; 1080x1920 for Stories")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between warm runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = warm_runs(args.runs, Path(tmp), args.size, args.gap)
        print(
            f"warm runs: {args.runs} x 5 s {args.size} 24 fps clip (in one process, models loaded)"
        )
        print(f"{'stage':<15} {'p50 ms':>9} {'p95 ms':>9}")
        summary = {}
        for stage in STAGES:
            values = [r.get(stage, 0.0) for r in results]
            summary[stage] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
            print(f"{stage:<15} {summary[stage]['p50']:>9.0f} {summary[stage]['p95']:>9.0f}")
        shares = [overhead(r) for r in results]
        summary["overhead"] = {"p50": percentile(shares, 0.5), "p95": percentile(shares, 0.95)}
        print(
            "safety and provenance over generation + encode: "
            f"p50 {summary['overhead']['p50']:.0%}, p95 {summary['overhead']['p95']:.0%}"
        )
        colds = [cold_run(Path(tmp)) for _ in range(args.cold_runs)]
        if colds:
            print(
                f"cold `stillguard run` process (imports + model loading): "
                f"{', '.join(f'{c:.0f} ms' for c in colds)}"
            )
        print(json.dumps({"warm": summary, "cold_ms": colds}))


if __name__ == "__main__":
    main()
