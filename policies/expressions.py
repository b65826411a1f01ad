"""Rule conditions over several signals, written in CEL (Common Expression Language).

A rule's `when` is a CEL expression over signal scores, e.g.
`faces_count >= 0.1 && prompt_sexual > 0.3`. Each known category is a `double` variable named
with `_` for `.` (its highest evaluated score, 0.0 when absent or not evaluated); `hash_any` is
the highest score over every `hash.*` bank. Expressions are type-checked at upload against these
declarations, so a misspelt signal, a syntax error or a non-boolean result is refused with its
line and column.

CEL runs through `cel-expr-python`, the CEL project's own Python binding of its C++ runtime:
it type-checks at compile time (a misspelt signal is refused at upload, with its place), and it
was the fastest of the candidates issue 11 named, on the default pack's two conditions over the
same 256 score sets, all agreeing (bench/expression_engines.py, 2026-12-07, one busy core):
6.5 us a decision; Cedar through cedarpy 524 us (it parses the policy text on every call, and
has no floating point: scores travel as `decimal` values); cel-python, a pure-Python CEL, 1.6 ms.
All `when` conditions of a stage are compiled into one CEL list and evaluated in a single call
per decision.
An expression that fails at run time (e.g. a division by zero) counts as "could not evaluate":
its rule fires its `on_missing` action, never silently allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from cel_expr_python import cel  # type: ignore[import-untyped]

from safety.signals import Signal

# Every category a classifier in `safety` produces (a pack may only name these).
SIGNAL_CATEGORIES: tuple[str, ...] = (
    "nsfw",
    "nudenet.exposed",
    "faces.count",
    "faces.minor",
    "people.count",
    "prompt.sexual",
    "prompt.violence",
    "prompt.self_harm",
    "prompt.hate",
    "prompt.minors",
    "clip.violence",
    "clip.weapons",
    "clip.self_harm",
    "clip.hate_symbols",
    "clip.minors",
    "clip.real_person",
    "escalation.nsfw",
    "flash.general",
    "flash.red",
    "drift",
    "audio.loudness",
    "audio.peak",
    "audio.spike",
    "history.refusals_10m",
    "history.refusals_1h",
    "history.refusals_1d",
    "history.refusals_10m_peak_1h",
    "history.photo_near_refused",
    "history.prompt_near_refused",
    "history.option_changes_10m",
    "history.submissions_10m",
)
# Categories whose score is a count (whole numbers from 0 up), not a [0, 1] score: a threshold
# rule on them compares the count (`threshold: 3`).
COUNT_CATEGORIES: frozenset[str] = frozenset(
    {
        "history.refusals_10m",
        "history.refusals_1h",
        "history.refusals_1d",
        "history.refusals_10m_peak_1h",
        "history.option_changes_10m",
        "history.submissions_10m",
    }
)
HASH_ANY = "hash_any"
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExpressionError(ValueError):
    """A condition that does not compile; the message names the line and column in it."""


def variable(category: str) -> str:
    """The CEL variable that holds a category's score."""
    return category.replace(".", "_")


VARIABLES: dict[str, str] = {variable(c): c for c in SIGNAL_CATEGORIES}
_ENV = cel.NewEnv(variables={name: cel.Type.DOUBLE for name in [*VARIABLES, HASH_ANY]})


def check(expression: str) -> None:
    """Compile one condition; ExpressionError says where and why it does not."""
    try:
        compiled = _ENV.compile(expression)
    except RuntimeError as error:
        found = _POSITION.search(str(error))
        if found is None:
            raise ExpressionError(str(error)) from error
        line, column, why = found.groups()
        raise ExpressionError(f"line {line}, column {column} of the expression: {why}") from error
    if compiled.return_type() != cel.Type.BOOL:
        raise ExpressionError(
            f"the expression gives a {compiled.return_type().name()}, not true or false"
        )


def scores(signals: Iterable[Signal]) -> dict[str, float]:
    """Each variable's value: the highest evaluated score of its category, else 0.0."""
    values = dict.fromkeys([*VARIABLES, HASH_ANY], 0.0)
    for signal in signals:
        if not signal.evaluated:
            continue
        name = variable_of(signal.category)
        if name in values and signal.score > values[name]:
            values[name] = float(signal.score)
    return values


def variable_of(category: str) -> str:
    """The variable a signal category feeds (every `hash.*` bank feeds `hash_any`)."""
    return HASH_ANY if category.startswith("hash.") else variable(category)


# Evaluations that share one CEL arena: reusing it saves about a fifth of a call, and each call
# leaves ~110 bytes in it, released when the arena is replaced (~1 MB per arena).
ARENA_CALLS = 10_000


class StageConditions:
    """A stage's conditions compiled into one CEL list: one call decides them all."""

    def __init__(self, expressions: Sequence[str]) -> None:
        for expression in expressions:
            check(expression)
        known = (*VARIABLES, HASH_ANY)
        words = [set(_IDENTIFIER.findall(e)) for e in expressions]
        # The variables each condition reads (in declaration order), for its reason
        self.inputs: tuple[tuple[str, ...], ...] = tuple(
            tuple(name for name in known if name in named) for named in words
        )
        # Only the variables the conditions name are passed in: each costs a conversion per call.
        self.names: frozenset[str] = frozenset(n for inputs in self.inputs for n in inputs)
        self._singles = [_ENV.compile(e) for e in expressions]
        self._all = _ENV.compile("[" + ", ".join(f"({e})" for e in expressions) + "]")
        self._arena = cel.Arena()
        self._calls = 0

    def evaluate(self, values: dict[str, float]) -> list[bool | None]:
        """True or False per condition; None where it failed at run time. `values` holds at
        least every variable in `names`."""
        if not self._singles:
            return []
        self._calls += 1  # threads may miscount a little: the bound is loose anyway
        if self._calls >= ARENA_CALLS:
            self._arena, self._calls = cel.Arena(), 0
        arena = self._arena  # held here until the result is plain Python values
        result = self._all.eval(data=values, arena=arena).plain_value()
        if isinstance(result, list):
            return result
        return [_single(e, values) for e in self._singles]  # one failed: find which


def _single(compiled: object, values: dict[str, float]) -> bool | None:
    value = compiled.eval(data=values).plain_value()  # type: ignore[attr-defined]
    return value if isinstance(value, bool) else None
