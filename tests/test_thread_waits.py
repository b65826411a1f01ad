"""Threads that wait for work sleep instead of spinning, in every entry point (issue 16).

On two cores that the renderer, the encoder, ONNX Runtime and other jobs share, a library's
worker threads that spin while they wait take the cores from the threads with work: the prompt
classifier's E5 (OpenMP, two threads) took 2.4-2.6 s of a job's input gate in the pipeline's
process against 0.17 s with OpenMP's passive wait (both cores loaded, 2026-12-08)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.samples import REPO_ROOT

_READ = "import stillguard, os; print(os.environ['OMP_WAIT_POLICY'], os.environ['OPENBLAS_NUM_THREADS'])"


def _fresh(env: dict[str, str]) -> list[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS")
    }
    done = subprocess.run(
        [sys.executable, "-c", _READ], cwd=REPO_ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.split()


def test_importing_stillguard_makes_waiting_threads_sleep() -> None:
    assert _fresh({}) == ["PASSIVE", "1"]


def test_an_operators_own_thread_settings_win() -> None:
    assert _fresh({"OMP_WAIT_POLICY": "ACTIVE", "OPENBLAS_NUM_THREADS": "2"}) == ["ACTIVE", "2"]
