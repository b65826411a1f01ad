"""Policy figures (issue 11): decisions per second on one core, the CEL engine's share, backtest.

    .venv/bin/python bench/policies.py [--decisions 50000] [--rounds 5] [--backtest 1000000]

Decides the default pack's input stage over the input gate's signals (photo, prompt, faces,
CLIP not evaluated, one hash bank) in one thread, for two mixes: benign traffic (every score
under 0.1, nothing fires) and a mixed one (scores up to 0.6, about three rules fire a decision,
each reason written); and times apart the part spent in the CEL engine (the stage's one
conditions call over the variables its rules name). Then backtests the default pack against a
candidate over `--backtest` recorded decisions held in memory (bench/backtest.py times the
whole `policy backtest` over a stored log), and prints the time and the number that would flip.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.backtest import backtest
from policies.expressions import scores
from policies.pack import PolicyPack
from safety.signals import Signal


def input_signals(rng: random.Random, top: float = 0.6) -> list[Signal]:
    """What the input gate records for a photo with a prompt, scores drawn from [0, top)."""
    categories = ["nsfw", "faces.count", "nudenet.exposed", "hash.known-bad"]
    categories += [f"prompt.{c}" for c in ("sexual", "violence", "self_harm", "hate", "minors")]
    signals = [Signal(c, round(rng.random() * top, 4), "bench") for c in categories]
    signals += [
        Signal(f"clip.{c}", 0.0, "clip", evaluated=False)
        for c in ("violence", "weapons", "self_harm", "hate_symbols", "minors", "real_person")
    ]
    return signals


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s ({seconds / count * 1e6:.1f} us each)"


MIXES = {
    # every score under 0.1: no rule fires, the reason is the default action's
    "benign (scores < 0.1, no rule fires)": 0.1,
    # scores up to 0.6: about 3 rules fire a decision, each with its reason written
    "mixed (scores < 0.6, ~3 rules fire)": 0.6,
}


def median_round(run: Callable[[int], object], count: int, rounds: int) -> float:
    """The median thread CPU time of `rounds` runs of count/rounds calls, scaled to `count`:
    on two shared vCPUs a neighbour's burst spoils a round, not the figure."""
    each = max(1, count // rounds)
    times = []
    for _ in range(rounds):
        start = time.thread_time()
        run(each)
        times.append(time.thread_time() - start)
    return statistics.median(times) * count / each


def bench_decisions(pack: PolicyPack, count: int, rounds: int) -> None:
    stage = pack.stages["input"]
    print(f"decisions, default pack input stage, one thread (median CPU time of {rounds} rounds):")
    for label, top in MIXES.items():
        rng = random.Random(7)
        batches = [input_signals(rng, top) for _ in range(256)]
        fired = sum(len(pack.decide("input", b, job_id="bench").rules_fired) for b in batches)

        def decide(n: int, batches: list[list[Signal]] = batches) -> None:
            for i in range(n):
                pack.decide("input", batches[i & 255], job_id="bench")

        total = median_round(decide, count, rounds)
        values = [
            {n: v for n, v in scores(b).items() if n in stage.conditions.names} for b in batches
        ]

        def evaluate(n: int, values: list[dict[str, float]] = values) -> None:
            for i in range(n):
                stage.conditions.evaluate(values[i & 255])

        cel = median_round(evaluate, count, rounds)
        print(f"  {label}: {rate(count, total)}, {fired / len(batches):.1f} rules fired each")
        print(
            f"    of which the CEL engine (one call for {len(stage.condition_rules)} rules over "
            f"{len(stage.conditions.names)} variables): {cel / count * 1e6:.1f} us "
            f"({cel / total:.0%}); without it: {rate(count, total - cel)}"
        )


def bench_backtest(pack: PolicyPack, count: int) -> None:
    rng = random.Random(11)
    records = []
    for i in range(count):
        signals = [s.to_dict() for s in input_signals(rng)]
        records.append(
            {
                "job_id": f"job{i}",
                "stage": "input",
                "kind": "decision",
                "action": "label",
                "policy_version": "old",
                "signals": signals,
            }
        )
    candidate = PolicyPack.from_yaml(
        (ROOT / "policies" / "default.yaml")
        .read_text()
        .replace("threshold: 0.5, action: review}", "threshold: 0.4, action: review}")
        .replace('version: "2026.11.0"', 'version: "candidate"')
    )
    start = time.perf_counter()
    report = backtest(candidate, records)
    seconds = time.perf_counter() - start
    print(
        f"backtest over {count:,} recorded decisions: {seconds:.1f} s ({rate(count, seconds)}); "
        f"{len(report.changes):,} would flip"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backtest", type=int, default=100_000)
    args = parser.parse_args()
    pack = PolicyPack.default()
    bench_decisions(pack, args.decisions, args.rounds)
    if args.backtest:
        bench_backtest(pack, args.backtest)


if __name__ == "__main__":
    main()
