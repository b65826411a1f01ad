"""Clips per minute of embedded `serve`: one process, every stage, jobs submitted all at once.

    python -m bench.throughput [--jobs 8] [--threads 1 2] [--rounds 2] [--size 1280x720]

Each round runs every `--threads` value in turn (interleaved, so a busy machine slows each alike)
on a fresh HOME: the models are loaded and one job run first (not counted), then `--jobs` jobs
of 5 s are submitted at once and the relay threads (`STILLGUARD_STAGE_THREADS`) work until all
are published. Prints clips per minute per setting and round, and the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from stillguard.container import open_store
from stillguard.pipeline.embedded import BackgroundRelay
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest, submit_job
from stillguard.settings import Settings
from tests.support.samples import SAMPLE_PHOTO


def clips_per_minute(threads: int, jobs: int, size: str, home: Path) -> float:
    """Submit `jobs` at once to an embedded relay with `threads` threads; clips per minute."""
    settings = Settings.from_env({"STILLGUARD_HOME": str(home), "STILLGUARD_KEY_PASSPHRASE": "b"})
    store = open_store(settings)
    runner = LocalRunner(settings, store)

    def request(seed: int) -> JobRequest:
        options = {"duration_s": 5, "fps": 24, "size": size, "seed": seed}
        return JobRequest(photo=SAMPLE_PHOTO.read_bytes(), prompt=None, options=options,
                          submitter="cli")  # fmt: skip

    runner.run(request(10_000), None)  # models, keys and caches: not counted
    start = time.perf_counter()
    ids = [submit_job(store, runner.deps.blobs, request(seed)).id for seed in range(jobs)]
    relay = BackgroundRelay(runner.deps, threads=threads)
    while not all(store.get_job(i).status in ("published", "refused", "failed") for i in ids):
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    relay.close()
    statuses = {store.get_job(i).status for i in ids}
    if statuses != {"published"}:
        raise SystemExit(f"jobs ended {statuses}, not all published")
    store.close()
    return jobs * 60.0 / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    for round_ in range(args.rounds):
        for threads in args.threads:
            with tempfile.TemporaryDirectory() as tmp:
                rate = clips_per_minute(threads, args.jobs, args.size, Path(tmp))
            print(
                f"round {round_ + 1}: {threads} relay thread(s): {rate:.1f} clips/min "
                f"({args.jobs} x 5 s {args.size}); load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
