"""Backtest figure (issue 11): `stillguard policy backtest` over a million recorded decisions.

    .venv/bin/python -m bench.backtest [--events 1000000] [--keep DIR]

Fills a fresh SQLite audit store under a temporary HOME with `--events` chained decision events
(input and output in turn, with the signals the gates record: 15 at the input, 15 at the output,
the CLIP categories not evaluated), then times the real CLI from process start to exit: a
candidate pack (the default with its review thresholds at 0.5 lowered to 0.4) against the
default pack by its version (`--baseline`, two versions compared on the same recorded signals),
once per `--workers` value. `--keep DIR` fills DIR instead and leaves it, so later runs reuse the
store (a fill of 1M takes several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit import AuditQuery, AuditStore
from bench.audit import fill
from bench.policies import input_signals
from policies.expressions import SIGNAL_CATEGORIES
from policies.pack import PolicyPack
from provenance.authority import Authority
from provenance.checkpoint_signing import CheckpointSigner

PASSPHRASE = "bench passphrase"
OUTPUT_CATEGORIES = ("nsfw", "nudenet.exposed", "escalation.nsfw", "drift") + tuple(
    c for c in SIGNAL_CATEGORIES if c.startswith(("flash.", "audio."))
)


def recorded_signals(rng: random.Random, stage: str) -> list[dict[str, object]]:
    """What a gate records: the input gate's photo, prompt and face signals, or the output
    gate's frame, motion and audio checks; CLIP's categories present but not evaluated."""
    if stage == "input":
        return [signal.to_dict() for signal in input_signals(rng)]
    signals: list[dict[str, object]] = [
        {"category": c, "score": round(rng.random() * 0.6, 4), "model": "bench"}
        for c in OUTPUT_CATEGORIES
    ]
    signals += [
        {"category": f"clip.{c}", "score": 0.0, "model": "clip", "evaluated": False}
        for c in ("violence", "weapons", "self_harm", "hate_symbols", "minors", "real_person")
    ]
    return signals


def candidate_pack(home: Path) -> Path:
    """The default pack with its nsfw and prompt review thresholds lowered from 0.5 to 0.4."""
    text = (ROOT / "policies" / "default.yaml").read_text()
    text = text.replace("threshold: 0.5, action: review}", "threshold: 0.4, action: review}")
    path = home / "candidate.yaml"
    path.write_text(text.replace('version: "2026.11.0"', 'version: "candidate"'))
    return path


def timed_cli(home: Path, *arguments: str) -> tuple[float, float, dict[str, object]]:
    """Seconds from the CLI's start to its exit, the CPU seconds it and its workers used (a
    fairer figure on a shared machine), and its --json report."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # this checkout's code, whichever one the venv was installed from
        "STILLGUARD_HOME": str(home),
        "STILLGUARD_KEY_PASSPHRASE": PASSPHRASE,
    }
    began = time.perf_counter()
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("stillguard")),
            "policy",
            "backtest",
            *arguments,
            "--json",
        ],
        env=environ,
        capture_output=True,
        check=False,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"stillguard policy backtest failed ({done.returncode}): {done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    return seconds, cpu, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="fill (or reuse) this HOME and keep it")
    parser.add_argument(
        "--workers", nargs="+", default=["1", "2"], help="the CLI's --workers, one run each"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = (args.keep or Path(tmp)).resolve()
        home.mkdir(parents=True, exist_ok=True)
        store = AuditStore(f"sqlite:///{home / 'audit.sqlite3'}")
        store.migrate()
        if not store.events(AuditQuery(limit=1)):
            signer = CheckpointSigner(Authority.open(home, PASSPHRASE))
            seconds = fill(store, signer, args.events, 100_000, recorded_signals)
            print(f"{args.events:,} decisions recorded in {seconds:.0f} s")
        store.close()
        candidate = str(candidate_pack(home))
        default = PolicyPack.default().version
        for workers in args.workers:
            seconds, cpu, report = timed_cli(
                home, candidate, "--baseline", default, "--workers", workers
            )
            print(
                f"policy backtest candidate --baseline {default}, {workers} worker(s): "
                f"{report['replayed']:,} decisions in {seconds:.1f} s (CLI start to exit, "
                f"{cpu:.1f} CPU s), {report['changed']:,} would change"
            )


if __name__ == "__main__":
    main()
