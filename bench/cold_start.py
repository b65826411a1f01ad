"""Cold `stillguard run`: the wall time of a fresh process (imports, model loading, the job),
interleaved against a previous version of the code so that a busy machine slows both alike.

    python -m bench.cold_start [--runs 5] [--against /work/main] [--this DIR] [--size 1280x720]
                                [--prompt TEXT]

Each round runs this checkout, then the other one (PYTHONPATH picks which `stillguard` and
domain packages load; the virtual environment is the same), on the sample photo with the default
5 s clip, in one STILLGUARD_HOME per version whose keys are made before timing. It prints each
run, the medians, and the load average before and after, since 2 shared cores are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.samples import REPO_ROOT, SAMPLE_PHOTO


def cold_run(code: Path, home: Path, extra: list[str]) -> float:
    """Milliseconds for one `python -m stillguard run` process from the checkout at `code`."""
    argv = [sys.executable, "-m", "stillguard", "run", str(SAMPLE_PHOTO)]
    argv += ["--out", str(home / "cold.mp4"), "--json", *extra]
    env = {
        "STILLGUARD_HOME": str(home),
        "STILLGUARD_KEY_PASSPHRASE": "bench",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(code),
    }
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, capture_output=True, env=env, cwd=code, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{code}: run exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="rounds (one run of each per round)")
    parser.add_argument("--against", type=Path, default=Path("/work/main"))
    parser.add_argument("--this", type=Path, default=REPO_ROOT, help="a copy of a commit, say")
    parser.add_argument("--size", help="WxH; the default is the generator's 1280x720")
    parser.add_argument("--prompt", help="a prompt also loads the prompt classifier (torch)")
    args = parser.parse_args()
    extra = (["--size", args.size] if args.size else []) + (
        ["--prompt", args.prompt] if args.prompt else []
    )
    versions = {"this": args.this.resolve(), "previous": args.against.resolve()}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        homes = {name: Path(tmp) / name for name in versions}
        for name, code in versions.items():
            homes[name].mkdir()
            cold_run(code, homes[name], extra)  # keys, database and .pyc files; not counted
        times: dict[str, list[float]] = {name: [] for name in versions}
        for i in range(args.runs):
            order = list(versions) if i % 2 == 0 else list(reversed(versions))
            for name in order:
                times[name].append(cold_run(versions[name], homes[name], extra))
            print(f"round {i + 1}: " + ", ".join(f"{n} {times[n][-1]:.0f} ms" for n in versions))
    load_after = os.getloadavg()
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"cold `stillguard run` median of {args.runs}: this ({versions['this']}) "
        f"{medians['this']:.0f} ms, "
        f"previous ({versions['previous']}) {medians['previous']:.0f} ms, "
        f"ratio {medians['this'] / medians['previous']:.2f}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        json.dumps(
            {"cold_ms": times, "median_ms": medians, "load_average": [load_before, load_after]}
        )
    )


if __name__ == "__main__":
    main()
