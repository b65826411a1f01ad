"""The expression engines issue 11 named, measured on the default pack's combined-signal rules.

    .venv/bin/pip install --target /tmp/exprlibs cel-python cedarpy   # kept out of the project
    .venv/bin/python -m bench.expression_engines --libs /tmp/exprlibs [--calls 20000]

Each engine evaluates the input stage's two `when` conditions (a real person and a sexual
prompt; a minors signal and a nudity signal) over the same 256 sets of scores, and the answers
are checked against each other. Printed per engine: microseconds per decision (both conditions)
and whether it agreed on every set.
- cel-expr-python: the CEL project's own binding of its C++ runtime (what policies/ uses): one
  compiled CEL list per stage, one call a decision.
- cel-python (celpy): a pure-Python CEL interpreter, the conditions compiled once.
- Cedar (cedarpy, the Rust engine's binding): one `permit` policy per condition, `when` over the
  request context; Cedar has no floating point, so scores travel as `decimal` values (four
  places) compared with `greaterThan`-style methods, and the satisfied policies are the holding
  conditions.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.expressions import StageConditions
from policies.pack import PolicyPack

Engine = Callable[[dict[str, float]], list[bool]]


def cel_expr_python(expressions: list[str]) -> Engine:
    conditions = StageConditions(expressions)
    return lambda values: [bool(v) for v in conditions.evaluate(values)]


def cel_python(expressions: list[str]) -> Engine:
    import celpy  # type: ignore[import-untyped]

    env = celpy.Environment()
    programs = [env.program(env.compile(e)) for e in expressions]

    def evaluate(values: dict[str, float]) -> list[bool]:
        activation = {name: celpy.celtypes.DoubleType(v) for name, v in values.items()}
        return [bool(program.evaluate(activation)) for program in programs]

    return evaluate


_CEDAR_OPS = {">=": "greaterThanOrEqual", ">": "greaterThan", "<=": "lessThanOrEqual"}


def _cedar_condition(expression: str) -> str:
    """The default pack's conditions in Cedar: `a >= 0.1` becomes
    `context.a.greaterThanOrEqual(decimal("0.1"))` (they use only &&, ||, ( ) and comparisons)."""

    def comparison(found: re.Match[str]) -> str:
        name, op, number = found.groups()
        return f'context.{name}.{_CEDAR_OPS[op]}(decimal("{float(number):.4f}"))'

    return re.sub(r"([a-z_]+)\s*(>=|>|<=)\s*([0-9.]+)", comparison, expression)


def cedar(expressions: list[str]) -> Engine:
    import cedarpy  # type: ignore[import-untyped]

    policies = "\n".join(
        f"permit(principal, action, resource) when {{ {_cedar_condition(e)} }};"
        for e in expressions
    )
    ids = [f"policy{i}" for i in range(len(expressions))]  # cedarpy names them in order

    def evaluate(values: dict[str, float]) -> list[bool]:
        context = {n: {"__extn": {"fn": "decimal", "arg": f"{v:.4f}"}} for n, v in values.items()}
        request = {
            "principal": 'User::"service"',
            "action": 'Action::"decide"',
            "resource": 'Job::"job"',
            "context": context,
        }
        result = cedarpy.is_authorized(request, policies, [])
        held = set(result.diagnostics.reasons)
        return [policy_id in held for policy_id in ids]

    return evaluate


ENGINES = {
    "cel-expr-python (C++ CEL)": cel_expr_python,
    "cel-python (pure Python CEL)": cel_python,
    "cedarpy (Rust Cedar)": cedar,
}


def value_sets(names: frozenset[str], count: int = 256) -> list[dict[str, float]]:
    rng = random.Random(5)
    return [{n: round(rng.random() * 0.7, 4) for n in sorted(names)} for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--libs", type=Path, help="a folder of the other engines' packages")
    args = parser.parse_args()
    if args.libs:
        sys.path.append(str(args.libs))  # after the venv: its own versions win
    stage = PolicyPack.default().stages["input"]
    expressions = [rule.when for rule in stage.condition_rules]
    sets = value_sets(stage.conditions.names)
    reference = [cel_expr_python(expressions)(v) for v in sets]
    print(f"{len(expressions)} conditions over {len(stage.conditions.names)} variables:")
    for label, make in ENGINES.items():
        try:
            engine = make(expressions)
        except ImportError as error:
            print(f"  {label}: not installed ({error.name}); see the docstring")
            continue
        agreed = all(engine(v) == want for v, want in zip(sets, reference, strict=True))
        calls = args.calls if "C++" in label else max(1, args.calls // 20)
        start = time.thread_time()
        for i in range(calls):
            engine(sets[i & 255])
        each = (time.thread_time() - start) / calls * 1e6
        print(f"  {label}: {each:,.1f} us a decision, agrees on all {len(sets)}: {agreed}")


if __name__ == "__main__":
    main()
