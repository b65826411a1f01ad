"""Policy packs: versioned YAML rules that turn classifier signals into a decision with reasons.

A pack has a version and, for every stage (`input`, `output`), a default action and rules. A
threshold rule fires when an evaluated signal of its category (a glob such as `prompt.*`) scores
at or above its threshold. A condition rule (`when:`) fires when its CEL expression over several
signals holds (see `policies.expressions`), e.g. `faces_count >= 0.1 && prompt_sexual > 0.3`.

Precedence: when several rules fire, the strictest action wins, block > review > restrict >
label > allow (ACTION_SEVERITY), whatever their order in the file; every fired rule is named in
the reasons. With none, the stage's default action applies.

A stage's `unsupported_language` action (default `review`; only `review` or `block`, never a
silent allow) applies when the prompt classifier reports that no model covers the prompt's
language (the `prompt.language.unsupported` signal).

Fail closed: a threshold rule with `require: true` also fires, with its `on_missing` action
(default `review`), when no evaluated signal of its category is present; a condition rule fires
its `on_missing` action when a category in its `requires:` list was not evaluated, or when the
expression fails at run time. A classifier that could not run is never taken as a clean result.
Every decision lists the categories it could not evaluate (`Decision.unevaluated`).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn, Protocol

from policies.decision import ACTION_SEVERITY, Decision
from policies.expressions import (
    COUNT_CATEGORIES,
    HASH_ANY,
    SIGNAL_CATEGORIES,
    VARIABLES,
    ExpressionError,
    StageConditions,
    check,
    variable_of,
)
from policies.yaml_bounds import Locate, YamlBoundsError, load_bounded
from safety.signals import UNSUPPORTED_LANGUAGE, Signal

STAGES = ("input", "output")
DEFAULT_PATH = Path(__file__).with_name("default.yaml")
_RULE_KEYS = {"id", "category", "threshold", "action", "require", "on_missing", "description"}
_CONDITION_KEYS = {"id", "when", "requires", "action", "on_missing", "description"}
_DETAIL_CHARS = 160
# A version is an identifier people type and databases index: 1-64 of letters, digits, . _ + -
UNSUPPORTED_LANGUAGE_ACTIONS = ("review", "block")  # a prompt nobody can read is never let through
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


class PolicyError(ValueError):
    """A policy pack that cannot be loaded or used; the message names the file, place and rule."""


Fail = Callable[[tuple[Any, ...], str], NoReturn]


def failing_at(source: str, locate: Locate | None) -> Fail:
    """A function that raises PolicyError naming the source and the line and column of a path."""

    def fail(path: tuple[Any, ...], message: str) -> NoReturn:
        where = f"{source}: {locate(path)}" if locate is not None else source
        raise PolicyError(f"{where}: {message}")

    return fail


@dataclass(frozen=True)
class Rule:
    """A threshold rule (`category` >= `threshold` -> `action`) or a condition rule (`when`)."""

    id: str
    category: str
    threshold: float
    action: str
    require: bool = False
    on_missing: str = "review"
    description: str = ""
    when: str = ""
    requires: tuple[str, ...] = ()

    @functools.cached_property
    def threshold_text(self) -> str:
        """The threshold as reasons print it (formatted once: every fired rule's reason has it)."""
        return f"{self.threshold:g}"

    def matches(self, category: str) -> bool:
        """True when a signal category falls under this rule's category pattern."""
        return _category_matches(category, self.category)


@dataclass(frozen=True)
class StagePolicy:
    """The rules of one stage and what happens when none fires."""

    default_action: str
    rules: tuple[Rule, ...]
    unsupported_language: str = "review"
    conditions: StageConditions = field(
        default_factory=lambda: StageConditions(()), compare=False, repr=False
    )

    _plans: dict[tuple[str, ...], StagePlan] = field(
        default_factory=dict, compare=False, repr=False
    )

    def plan_for(self, categories: tuple[str, ...]) -> StagePlan:
        """What to look at for signals of these categories (cached: the set rarely changes)."""
        plan = self._plans.get(categories)
        if plan is None:
            plan = StagePlan.of(self, categories)
            if len(self._plans) < 1024:
                self._plans[categories] = plan
        return plan

    @functools.cached_property
    def default_reasons(self) -> tuple[str, ...]:
        """A decision's reasons when no rule fires (the same for every one)."""
        return (f"no rule fired: default action {self.default_action}",)

    @functools.cached_property
    def condition_rules(self) -> tuple[Rule, ...]:
        """The `when` rules, in the order `conditions` evaluates them (read by every decision)."""
        return tuple(rule for rule in self.rules if rule.when)


@dataclass(frozen=True)
class StagePlan:
    """A stage's rules resolved against one set of signal categories, so a decision only looks
    at what can fire: each threshold rule with the present categories it covers (rules that
    cover none and require nothing are left out; those covering one category and requiring
    nothing are grouped by that category, so one lookup and one comparison with the group's
    lowest threshold pass over them all when none can fire), and each condition variable with
    the present categories that feed it (variables no present category feeds are 0.0 from the
    start)."""

    single_rules: tuple[tuple[str, float, tuple[Rule, ...]], ...]
    threshold_rules: tuple[tuple[Rule, tuple[str, ...]], ...]
    single_variables: tuple[tuple[str, str], ...]
    variables: tuple[tuple[str, tuple[str, ...]], ...]
    zeros: Mapping[str, float]

    @classmethod
    def of(cls, policy: StagePolicy, categories: tuple[str, ...]) -> StagePlan:
        """Resolve `policy` for signals of `categories` (each category once)."""
        by_category: dict[str, list[Rule]] = {}
        threshold_rules = []
        for rule in policy.rules:
            if rule.when:
                continue
            covered = tuple(c for c in categories if rule.matches(c))
            if len(covered) == 1 and not rule.require:
                by_category.setdefault(covered[0], []).append(rule)
            elif covered or rule.require:
                threshold_rules.append((rule, covered))
        single_rules = [
            (category, min(rule.threshold for rule in rules), tuple(rules))
            for category, rules in by_category.items()
        ]
        single_variables, variables, zeros = [], [], {}
        for name in (*VARIABLES, HASH_ANY):
            if name not in policy.conditions.names:
                continue
            fed = tuple(c for c in categories if variable_of(c) == name)
            if len(fed) == 1:
                single_variables.append((name, fed[0]))
            elif fed:
                variables.append((name, fed))
            else:
                zeros[name] = 0.0
        return cls(
            tuple(single_rules),
            tuple(threshold_rules),
            tuple(single_variables),
            tuple(variables),
            zeros,
        )


@dataclass(frozen=True)
class PolicyPack:
    """A versioned set of stage policies, loaded from YAML."""

    version: str
    stages: Mapping[str, StagePolicy]
    description: str = ""
    source: str = ""

    @classmethod
    def load(cls, path: Path) -> PolicyPack:
        """Load and validate a pack from a YAML file; PolicyError names what is wrong."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyError(f"{path}: cannot read policy pack ({error.strerror})") from error
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def default(cls) -> PolicyPack:
        """The default pack shipped in policies/default.yaml."""
        return cls.load(DEFAULT_PATH)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<policy>") -> PolicyPack:
        """Parse and validate a pack from YAML text (as uploaded through the API).

        Anchors and aliases, nesting deeper than a few levels and control characters are
        refused; errors name the line and column.
        """
        try:
            data, locate = load_bounded(text)
        except YamlBoundsError as error:
            raise PolicyError(f"{source}: {error}") from error
        return cls.from_dict(data, source=source, locate=locate)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<policy>", locate: Locate | None = None
    ) -> PolicyPack:
        """Validate a parsed pack: a version, and every stage with its default and rules."""
        fail = failing_at(source, locate)
        if not isinstance(data, dict):
            fail((), "a policy pack is a mapping with 'version' and 'stages'")
        unknown = set(data) - {"version", "stages", "description"}
        if unknown:
            fail((min(unknown, key=str),), f"unknown top-level key(s) {sorted(unknown)}")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, str | int | float):
            fail(("version",), "'version' is required (a string such as \"2026.11.0\")")
        if not VERSION.fullmatch(str(version)):
            fail(
                ("version",),
                f"version {str(version)[:80]!r} must be 1-64 letters, digits, '.', '_', '+' or "
                "'-', starting with a letter or digit",
            )
        stages_data = data.get("stages")
        if not isinstance(stages_data, dict) or not stages_data:
            fail(("stages",), f"'stages' must map stage names ({', '.join(STAGES)}) to their rules")
        stages: dict[str, StagePolicy] = {}
        seen: set[str] = set()
        for stage, body in stages_data.items():
            if stage not in STAGES:
                fail(("stages", stage), f"unknown stage {stage!r}; stages are {STAGES}")
            stages[stage] = _parse_stage(fail, stage, body, seen)
        missing = [stage for stage in STAGES if stage not in stages]
        if missing:
            fail(
                ("stages",),
                f"no {' or '.join(repr(m) for m in missing)} stage: a pack defines every stage "
                f"({', '.join(STAGES)}), or every job would fail there",
            )
        return cls(str(version), stages, str(data.get("description", "")), source)

    def decide(self, stage: str, signals: Iterable[Signal], *, job_id: str) -> Decision:
        """The stage's decision for these signals: strictest fired rule, or the default action."""
        policy = self._policy(stage)
        best, present = _strongest(signals)
        fired = _fired(stage, policy, best, present, explain=True)
        # Not evaluated: present, but with no evaluated signal at all (one frame without a
        # score beside scored ones is not a gap). Nothing to look for when the counts agree.
        unevaluated = (
            tuple([c for c in present if c not in best]) if len(best) != len(present) else ()
        )
        # The kernel's CSPRNG, as secrets.token_hex(16) reads it, without its two call layers
        decision_id = os.urandom(16).hex()
        if not fired:
            return Decision(
                stage,
                policy.default_action,  # type: ignore[arg-type]
                policy.default_reasons,
                self.version,
                decision_id,
                unevaluated=unevaluated,
            )
        if len(fired) > 1:
            fired.sort(key=_strictest_first)
        return Decision(
            stage,
            fired[0][1],  # type: ignore[arg-type]
            tuple([reason for _, _, reason in fired]),
            self.version,
            decision_id,
            rules_fired=tuple([rule.id for rule, _, _ in fired]),
            unevaluated=unevaluated,
        )

    def action(self, stage: str, signals: Iterable[Scored]) -> str:
        """The action `decide` takes on these signals, without writing its reasons: what a
        backtest compares (it asks `decide` for the reasons only where two packs disagree).
        Only each signal's category, score and evaluated flag are read."""
        policy = self._policy(stage)
        best, present = _strongest(signals)
        fired = _fired(stage, policy, best, present, explain=False)
        if not fired:
            return policy.default_action
        return max((action for _, action, _ in fired), key=ACTION_SEVERITY.__getitem__)

    def _policy(self, stage: str) -> StagePolicy:
        if stage not in self.stages:
            raise PolicyError(f"policy {self.version} has no rules for stage {stage!r}")
        return self.stages[stage]

    def requirements(self) -> list[tuple[str, str]]:
        """(rule id, category pattern) for every category a rule requires: a threshold rule's
        own with `require: true`, and each of a condition rule's `requires:`."""
        return [
            (rule.id, category)
            for policy in self.stages.values()
            for rule in policy.rules
            for category in (rule.requires if rule.when else (rule.category,) * rule.require)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The pack as plain data (the YAML schema), e.g. for `GET /v1/policies`."""
        return {
            "version": self.version,
            "description": self.description,
            "stages": {
                name: {
                    "default_action": sp.default_action,
                    "unsupported_language": sp.unsupported_language,
                    "rules": [_rule_dict(r) for r in sp.rules],
                }
                for name, sp in self.stages.items()
            },
        }


@functools.lru_cache(maxsize=4096)
def _category_matches(category: str, pattern: str) -> bool:
    # Packs name a few dozen patterns and classifiers a few dozen categories: cache the pairs.
    return fnmatch.fnmatchcase(category, pattern)


def _rule_dict(rule: Rule) -> dict[str, Any]:
    data = {f.name: getattr(rule, f.name) for f in fields(rule)}
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
    if rule.when:
        data = {k: v for k, v in data.items() if k not in ("category", "threshold", "require")}
    return {k: v for k, v in data.items() if v not in ("", None, [])}


def _highest(best: dict[str, Signal], categories: tuple[str, ...]) -> Signal | None:
    # Written out rather than max() over a generator: this runs for every rule of every decision.
    found = None
    for category in categories:
        signal = best.get(category)
        if signal is not None and (found is None or signal.score > found.score):
            found = signal
    return found


Fired = list[tuple[Rule, str, str]]  # each fired rule, the action it asks for, and why


def _strictest_first(fired: tuple[Rule, str, str]) -> int:
    return -ACTION_SEVERITY[fired[1]]


class Scored(Protocol):
    """What deciding an action reads of a signal (a Signal, or a backtest's lighter record)."""

    @property
    def category(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def evaluated(self) -> bool: ...


def _strongest(signals: Iterable[Any]) -> tuple[dict[str, Any], dict[str, None]]:
    """The highest evaluated signal of each category, and every category present (evaluated or
    not) in order."""
    best: dict[str, Signal] = {}
    present: dict[str, None] = {}
    for signal in signals:
        category = signal.category
        present[category] = None
        if signal.evaluated:
            held = best.get(category)
            if held is None or signal.score > held.score:
                best[category] = signal
    return best, present


def _fired(
    stage: str,
    policy: StagePolicy,
    best: dict[str, Signal],
    present: dict[str, None],
    *,
    explain: bool,
) -> Fired:
    """Every rule that fires; its reason is written only when `explain` (else "")."""
    plan = policy.plan_for(tuple(present))
    fired = _conditions_fired(policy, plan, best, explain)
    for category, lowest, rules in plan.single_rules:  # the hot path: most rules cover one
        worst = best.get(category)
        if worst is None or worst.score < lowest:
            continue
        for rule in rules:
            if worst.score >= rule.threshold:
                fired.append((rule, rule.action, _reason(rule, worst) if explain else ""))
    for rule, categories in plan.threshold_rules:
        worst = _highest(best, categories)
        if worst is not None:
            if worst.score >= rule.threshold:
                fired.append((rule, rule.action, _reason(rule, worst) if explain else ""))
        elif rule.require:
            what = ", ".join(sorted(categories)) or rule.category
            reason = f"{rule.id}: {what} not evaluated (the rule requires it) -> {rule.on_missing}"
            fired.append((rule, rule.on_missing, reason))
    language = best.get(UNSUPPORTED_LANGUAGE)
    if language is not None and language.score >= 1:
        action = policy.unsupported_language
        rule = Rule(f"{stage}.unsupported_language", UNSUPPORTED_LANGUAGE, 1.0, action)
        reason = (
            f"{rule.id}: no prompt model covers the prompt's language "
            f"({language.detail[:_DETAIL_CHARS]}) -> {action}"
            if explain
            else ""
        )
        fired.append((rule, action, reason))
    return fired


def _conditions_fired(
    policy: StagePolicy, plan: StagePlan, best: dict[str, Signal], explain: bool
) -> Fired:
    rules = policy.condition_rules
    if not rules:
        return []
    values = dict(plan.zeros)
    for name, category in plan.single_variables:
        signal = best.get(category)
        values[name] = 0.0 if signal is None else float(signal.score)
    for name, categories in plan.variables:
        signal = _highest(best, categories)
        values[name] = 0.0 if signal is None else float(signal.score)
    fired = []
    conditions = policy.conditions
    for rule, holds, inputs in zip(
        rules, conditions.evaluate(values), conditions.inputs, strict=True
    ):
        unevaluated = [c for c in rule.requires if c not in best] if rule.requires else None
        if unevaluated:
            why = f"{', '.join(unevaluated)} not evaluated (the rule requires it)"
            fired.append((rule, rule.on_missing, f"{rule.id}: {why} -> {rule.on_missing}"))
        elif holds is None:
            why = f"`{rule.when}` could not be evaluated"
            fired.append((rule, rule.on_missing, f"{rule.id}: {why} -> {rule.on_missing}"))
        elif holds and not explain:
            fired.append((rule, rule.action, ""))
        elif holds:
            named = ", ".join([f"{name}={values[name]:.3f}" for name in inputs if values[name]])
            detail = f" ({named})" if named else ""
            fired.append((rule, rule.action, f"{rule.id}: {rule.when}{detail} -> {rule.action}"))
    return fired


def _reason(rule: Rule, signal: Signal) -> str:
    when = ""
    if signal.start_s is not None and signal.end_s is not None:
        when = f" at {signal.start_s:.2f}-{signal.end_s:.2f} s"
    detail = f" ({signal.detail[:_DETAIL_CHARS]})" if signal.detail else ""
    return (
        f"{rule.id}: {signal.category} score {signal.score:.3f} >= {rule.threshold_text}{when} "
        f"-> {rule.action}{detail}"
    )


def _parse_stage(fail: Fail, stage: str, body: Any, seen: set[str]) -> StagePolicy:
    here = ("stages", stage)
    where = f"stage {stage!r}"
    if not isinstance(body, dict):
        fail(here, f"{where}: must be a mapping with 'default_action' and 'rules'")
    if "inherit" in body:
        fail(
            (*here, "inherit"),
            f"{where}: 'inherit' is resolved at upload (`stillguard policy upload`, "
            "POST /v1/policies/versions); a pack read directly spells out every stage",
        )
    unknown = set(body) - {"default_action", "rules", "unsupported_language"}
    if unknown:
        fail(here, f"{where}: unknown key(s) {sorted(unknown, key=str)}")
    default_action = body.get("default_action", "allow")
    if default_action not in ACTION_SEVERITY:
        fail(
            (*here, "default_action"),
            f"{where}: default_action {default_action!r} is not one of {list(ACTION_SEVERITY)}",
        )
    raw_rules = body.get("rules") or []
    if not isinstance(raw_rules, list):
        fail((*here, "rules"), f"{where}: 'rules' must be a list")
    rules = tuple(
        _parse_rule(fail, (*here, "rules", i - 1), f"{where}, rule #{i}", raw, seen)
        for i, raw in enumerate(raw_rules, start=1)
    )
    unsupported_language = body.get("unsupported_language", "review")
    if unsupported_language not in UNSUPPORTED_LANGUAGE_ACTIONS:
        fail(
            (*here, "unsupported_language"),
            f"{where}: unsupported_language {unsupported_language!r} must be one of "
            f"{list(UNSUPPORTED_LANGUAGE_ACTIONS)} (a prompt no model reads is never allowed)",
        )
    return StagePolicy(
        default_action,
        rules,
        unsupported_language,
        StageConditions([rule.when for rule in rules if rule.when]),
    )


def _parse_rule(fail: Fail, here: tuple[Any, ...], where: str, raw: Any, seen: set[str]) -> Rule:
    if not isinstance(raw, dict):
        fail(here, f"{where}: must be a mapping with id, category, threshold and action")
    rule_id = raw.get("id")
    at = f"{where.rsplit(',', 1)[0]}, rule {rule_id!r}" if rule_id else where
    if not isinstance(rule_id, str) or not rule_id.strip():
        fail(here, f"{at}: 'id' is required (a unique name such as 'input.nsfw.block')")
    if rule_id in seen:
        fail((*here, "id"), f"{at}: duplicate rule id (ids must be unique across the pack)")
    seen.add(rule_id)
    if "when" in raw:
        return _parse_condition(fail, here, at, raw)
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        fail(
            here, f"{at}: unknown key(s) {sorted(unknown, key=str)}; allowed: {sorted(_RULE_KEYS)}"
        )
    category = raw.get("category")
    if not isinstance(category, str) or not category.strip():
        fail(
            (*here, "category"),
            f"{at}: 'category' is required (a signal category or glob, e.g. 'nsfw')",
        )
    threshold = raw.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        fail((*here, "threshold"), f"{at}: 'threshold' must be a number, got {threshold!r}")
    _check_threshold(fail, (*here, "threshold"), at, category, float(threshold))
    for key in ("action", "on_missing"):
        value = raw.get(key, "review" if key == "on_missing" else None)
        if value not in ACTION_SEVERITY:
            fail(
                (*here, key), f"{at}: '{key}' must be one of {list(ACTION_SEVERITY)}, got {value!r}"
            )
    require = raw.get("require", False)
    if not isinstance(require, bool):
        fail((*here, "require"), f"{at}: 'require' must be true or false, got {require!r}")
    return Rule(
        rule_id,
        category,
        float(threshold),
        raw["action"],
        require,
        raw.get("on_missing", "review"),
        str(raw.get("description", "")),
    )


def _check_threshold(
    fail: Fail, here: tuple[Any, ...], at: str, category: str, threshold: float
) -> None:
    """A count category's threshold is a count (0 or more); every other one is in [0, 1]. A glob
    that covers both is held to [0, 1], naming the categories a larger threshold could never
    fire on."""
    covered = [c for c in SIGNAL_CATEGORIES if _category_matches(c, category)]
    counts = bool(covered) and all(c in COUNT_CATEGORIES for c in covered)
    if counts and not (0.0 <= threshold < float("inf")):
        fail(here, f"{at}: 'threshold' on a count must be 0 or more, got {threshold:g}")
    if not counts and not (0.0 <= threshold <= 1.0):
        scored = [c for c in covered if c not in COUNT_CATEGORIES]
        named = (
            f" ({', '.join(scored)} score in [0, 1])"
            if scored and len(scored) < len(covered)
            else ""
        )
        fail(here, f"{at}: 'threshold' must be a number in [0, 1]{named}, got {threshold:g}")


def _parse_condition(fail: Fail, here: tuple[Any, ...], at: str, raw: dict[str, Any]) -> Rule:
    unknown = set(raw) - _CONDITION_KEYS
    if unknown:
        fail(
            here,
            f"{at}: unknown key(s) {sorted(unknown, key=str)} in a condition rule; "
            f"allowed: {sorted(_CONDITION_KEYS)}",
        )
    when = raw["when"]
    if not isinstance(when, str) or not when.strip():
        fail((*here, "when"), f"{at}: 'when' is a CEL expression, e.g. 'nsfw > 0.5 && drift > 0.2'")
    try:
        check(when)
    except ExpressionError as error:
        fail((*here, "when"), f"{at}: {error}")
    requires = raw.get("requires", [])
    if not isinstance(requires, list) or any(c not in SIGNAL_CATEGORIES for c in requires):
        fail(
            (*here, "requires"),
            f"{at}: 'requires' lists signal categories, one of {list(SIGNAL_CATEGORIES)}",
        )
    for key in ("action", "on_missing"):
        value = raw.get(key, "review" if key == "on_missing" else None)
        if value not in ACTION_SEVERITY:
            fail(
                (*here, key), f"{at}: '{key}' must be one of {list(ACTION_SEVERITY)}, got {value!r}"
            )
    return Rule(
        raw["id"],
        "",
        0.0,
        raw["action"],
        on_missing=raw.get("on_missing", "review"),
        description=str(raw.get("description", "")),
        when=when,
        requires=tuple(requires),
    )
