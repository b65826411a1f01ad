"""Policy packs: loading, validation errors that name the rule, and decisions with reasons."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from policies.expressions import SIGNAL_CATEGORIES
from policies.pack import PolicyError, PolicyPack
from safety.signals import Signal

PACK = """
version: "test.1"
stages:
  input:
    default_action: label
    rules:
      - {id: nsfw.block, category: nsfw, threshold: 0.8, action: block}
      - {id: nsfw.review, category: nsfw, threshold: 0.5, action: review}
      - {id: prompts.review, category: "prompt.*", threshold: 0.5, action: review}
      - {id: clip.required, category: clip.violence, threshold: 0.7, action: block, require: true}
  output:
    default_action: allow
    rules: []
"""


@pytest.fixture
def pack() -> PolicyPack:
    return PolicyPack.from_yaml(PACK)


def _s(category: str, score: float, **kw: object) -> Signal:
    return Signal(category, score, "test-model", **kw)  # type: ignore[arg-type]


CLIP_OK = _s("clip.violence", 0.0)


def test_no_rule_fired_gives_the_stage_default(pack: PolicyPack) -> None:
    decision = pack.decide("input", [_s("nsfw", 0.1), CLIP_OK], job_id="job-1")
    assert decision.action == "label" and decision.rules_fired == ()
    assert decision.policy_version == "test.1" and "default action label" in decision.reasons[0]
    assert len(decision.decision_id) == 32


def test_decision_ids_are_fresh(pack: PolicyPack) -> None:
    ids = {pack.decide("output", [], job_id="j").decision_id for _ in range(3)}
    assert len(ids) == 3


def test_strictest_fired_rule_wins_and_every_fired_rule_is_a_reason(pack: PolicyPack) -> None:
    signals = [_s("nsfw", 0.85), _s("prompt.hate", 0.6, detail="nearest 'x'"), CLIP_OK]
    decision = pack.decide("input", signals, job_id="j")
    assert decision.action == "block"
    assert decision.rules_fired == ("nsfw.block", "nsfw.review", "prompts.review")
    first = decision.reasons[0]
    assert "nsfw.block" in first and "0.850" in first and ">= 0.8" in first and "nsfw" in first
    assert "prompt.hate" in decision.reasons[2] and "nearest 'x'" in decision.reasons[2]


def test_threshold_is_inclusive(pack: PolicyPack) -> None:
    assert pack.decide("input", [_s("nsfw", 0.5), CLIP_OK], job_id="j").action == "review"


def test_time_range_appears_in_the_reason(pack: PolicyPack) -> None:
    decision = pack.decide("input", [_s("nsfw", 0.9, start_s=1.5, end_s=2.5), CLIP_OK], job_id="j")
    assert "1.50-2.50 s" in decision.reasons[0]


def test_unevaluated_signal_is_never_taken_as_safe_for_a_required_rule(pack: PolicyPack) -> None:
    missing = _s("clip.violence", 0.0, evaluated=False)
    decision = pack.decide("input", [_s("nsfw", 0.1), missing], job_id="j")
    assert decision.action == "review" and decision.rules_fired == ("clip.required",)
    assert "not evaluated" in decision.reasons[0]
    absent = pack.decide("input", [_s("nsfw", 0.1)], job_id="j")
    assert absent.action == "review"


def test_unevaluated_high_score_is_ignored(pack: PolicyPack) -> None:
    decision = pack.decide("input", [_s("nsfw", 0.99, evaluated=False), CLIP_OK], job_id="j")
    assert decision.action == "label"


def test_unknown_stage_is_an_error(pack: PolicyPack) -> None:
    with pytest.raises(PolicyError, match="review"):
        pack.decide("review", [], job_id="j")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{id: bad.threshold, category: nsfw, threshold: high, action: block}",
            r"rule 'bad.threshold'.*threshold",
        ),
        (
            "{id: bad.action, category: nsfw, threshold: 0.5, action: delete}",
            r"rule 'bad.action'.*action",
        ),
        (
            "{id: bad.key, category: nsfw, threshold: 0.5, action: block, treshold: 1}",
            r"rule 'bad.key'.*treshold",
        ),
        ("{category: nsfw, threshold: 0.5, action: block}", r"rule #1.*'id' is required"),
        ("{id: no.category, threshold: 0.5, action: block}", r"rule 'no.category'.*category"),
        ("{id: too.high, category: nsfw, threshold: 1.5, action: block}", r"rule 'too.high'"),
        (  # a glob over counts and a [0, 1] similarity: a count threshold would never fire there
            "{id: mixed.glob, category: 'history.*', threshold: 3, action: review}",
            r"rule 'mixed.glob'.*\[0, 1\].*history.photo_near_refused",
        ),
        (
            "{id: negative.count, category: history.refusals_1h, threshold: -1, action: review}",
            r"rule 'negative.count'.*count",
        ),
    ],
)
def test_bad_rules_are_rejected_naming_the_rule(rule: str, message: str) -> None:
    text = f'version: "1"\nstages:\n  input:\n    rules:\n      - {rule}\n'
    with pytest.raises(PolicyError, match=message):
        PolicyPack.from_yaml(text, source="pack.yaml")


def test_a_threshold_rule_on_a_count_compares_the_count() -> None:
    rule = "{id: refusals.review, category: history.refusals_10m, threshold: 3, action: review}"
    text = f'version: "1"\nstages:\n  input:\n    rules: [{rule}]\n  output: {{}}\n'
    pack = PolicyPack.from_yaml(text)
    assert pack.decide("input", [_s("history.refusals_10m", 2.0)], job_id="j").action == "allow"
    decision = pack.decide("input", [_s("history.refusals_10m", 3.0)], job_id="j")
    assert decision.action == "review" and decision.rules_fired == ("refusals.review",)
    assert "history.refusals_10m score 3.000 >= 3" in decision.reasons[0]


def test_duplicate_rule_ids_are_rejected() -> None:
    rule = "{id: same, category: nsfw, threshold: 0.5, action: block}"
    text = f'version: "1"\nstages:\n  input:\n    rules: [{rule}]\n  output:\n    rules: [{rule}]\n'
    with pytest.raises(PolicyError, match="rule 'same'.*duplicate"):
        PolicyPack.from_yaml(text)


def test_broken_yaml_and_missing_version_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed\n")
    with pytest.raises(PolicyError, match="broken.yaml: line 2, column 1: not valid YAML"):
        PolicyPack.load(broken)
    with pytest.raises(PolicyError, match="'version' is required"):
        PolicyPack.from_yaml("stages: {input: {rules: []}}")
    with pytest.raises(PolicyError, match="cannot read"):
        PolicyPack.load(tmp_path / "missing.yaml")


def test_default_pack_allows_benign_and_blocks_explicit_input() -> None:
    pack = PolicyPack.default()
    assert pack.version == "2026.12.0"
    benign = [_s("nsfw", 0.01), _s("prompt.sexual", 0.1), _s("prompt.violence", 0.2)]
    assert pack.decide("input", benign, job_id="j").action == "label"
    assert pack.decide("input", [_s("nsfw", 0.9)], job_id="j").action == "block"
    assert pack.decide("input", [_s("nsfw", 0.6)], job_id="j").action == "review"


def test_default_pack_output_rules() -> None:
    pack = PolicyPack.default()
    clean = [
        _s("nsfw", 0.02),
        _s("escalation.nsfw", 0.0),
        _s("flash.general", 0.5),
        _s("flash.red", 0.0),
    ]
    assert pack.decide("output", clean, job_id="j").action == "label"
    flashing = [*clean[:2], _s("flash.general", 1.0), _s("flash.red", 0.0)]
    assert pack.decide("output", flashing, job_id="j").action == "block"
    escalated = [clean[0], _s("escalation.nsfw", 0.3), *clean[2:]]
    assert pack.decide("output", escalated, job_id="j").action == "review"
    unchecked = [clean[0], clean[1]]  # flash check missing: never publish unchecked
    assert pack.decide("output", unchecked, job_id="j").action == "review"


def test_pack_round_trips_through_its_dict_form() -> None:
    import yaml

    pack = PolicyPack.default()
    again = PolicyPack.from_yaml(yaml.safe_dump(pack.to_dict()))
    assert again.version == pack.version and again.stages == pack.stages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'version: "v1"\nstages: &s {input: {rules: []}, output: {rules: []}}\nx: *s\n',
            "line 2, column 9: YAML anchors and aliases are not allowed",
        ),
        (
            (
                "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            ),
            "line 1, column 4: YAML anchors and aliases are not allowed",
        ),
        (
            "version: v1\nstages: " + "[" * 12 + "]" * 12 + "\n",
            "line 2, column 16: nested deeper than 8 levels",
        ),
        ('version: "v1"\ndescription: "bell\x07"\n', "line 2, column 19: control character U+0007"),
        ('version: "v\x002"\n', "line 1, column 12: control character U+0000"),
        ('version: "' + "v" * 65 + '"\nstages: {}\n', "line 1, column 10: version 'vvvv"),
        (
            'version: "v1"\nstages:\n  input: {rules: []}\n',
            "line 3, column 3: no 'output' stage: a pack defines every stage",
        ),
        (
            (
                'version: "v1"\nstages:\n  input:\n    rules:\n      - {id: r, category: nsfw, '
                "threshold: 2, action: block}\n  output: {rules: []}\n"
            ),
            "line 5, column 44: stage 'input', rule 'r': 'threshold' must be a number in",
        ),
    ],
)
def test_hostile_or_incomplete_packs_are_refused_with_line_and_column(
    text: str, message: str
) -> None:
    with pytest.raises(PolicyError, match=re.escape(f"upload: {message}")):
        PolicyPack.from_yaml(text, source="upload")


def _signals(**scores: float) -> list[Signal]:
    return [
        Signal(category.replace("_", ".", 1), score, "test") for category, score in scores.items()
    ]


@pytest.mark.parametrize(
    ("signals", "rule"),
    [
        ({"faces_count": 0.4, "prompt_sexual": 0.35}, "input.real_person.sexual_prompt.block"),
        ({"prompt_minors": 0.4, "nsfw": 0.25}, "input.minors.nudity.block"),
        ({"clip_minors": 0.7, "nudenet_exposed": 0.3}, "input.minors.nudity.block"),
        ({"faces_minor": 0.6, "nsfw": 0.25}, "input.minors.nudity.block"),
    ],
)
def test_the_default_packs_combined_signal_rules_block(signals: dict, rule: str) -> None:
    decision = PolicyPack.default().decide("input", _signals(**signals), job_id="j")
    assert decision.action == "block"
    assert rule in decision.rules_fired
    assert any(reason.startswith(f"{rule}: (") for reason in decision.reasons)


def test_one_signal_alone_does_not_fire_a_combined_rule() -> None:
    pack = PolicyPack.default()
    alone = pack.decide("input", _signals(faces_count=0.4, prompt_sexual=0.2), job_id="j")
    assert "input.real_person.sexual_prompt.block" not in alone.rules_fired
    minors_only = pack.decide("input", _signals(prompt_minors=0.4, nsfw=0.1), job_id="j")
    assert "input.minors.nudity.block" not in minors_only.rules_fired
    adult = pack.decide("input", _signals(faces_minor=0.3, nsfw=0.25), job_id="j")
    assert "input.minors.nudity.block" not in adult.rules_fired


CONDITION_PACK = """
version: "c1"
stages:
  input:
    rules:
      - id: clip.violence.required
        when: "clip_violence > 0.5 || prompt_violence > 0.9"
        requires: [clip.violence]
        action: block
        on_missing: review
      - {{id: broken.at.run.time, when: "{runtime}", action: review, on_missing: block}}
  output: {{rules: []}}
"""


def test_a_condition_rule_fails_closed_when_a_required_category_was_not_evaluated() -> None:
    pack = PolicyPack.from_yaml(CONDITION_PACK.format(runtime="false"))
    missing = [Signal("clip.violence", 0.0, "clip", evaluated=False)]
    decision = pack.decide("input", missing, job_id="j")
    assert (decision.action, decision.rules_fired) == ("review", ("clip.violence.required",))
    assert "clip.violence not evaluated" in decision.reasons[0]
    assert (
        pack.decide("input", [Signal("clip.violence", 0.7, "clip")], job_id="j").action == "block"
    )


def test_a_condition_that_fails_at_run_time_fires_its_on_missing_action() -> None:
    pack = PolicyPack.from_yaml(CONDITION_PACK.format(runtime="int(nsfw) / 0 > 1"))
    decision = pack.decide("input", [Signal("clip.violence", 0.1, "clip")], job_id="j")
    assert (decision.action, decision.rules_fired) == ("block", ("broken.at.run.time",))


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("nsfw > 0.5 && prompt_sexul > 0.3", "line 1, column 15 of the expression: undeclared"),
        ("nsfw >", "line 1, column 7 of the expression: Syntax error"),
        ("nsfw + 1.0", "gives a DOUBLE, not true or false"),
    ],
)
def test_bad_conditions_are_refused_at_upload_with_their_place(when: str, message: str) -> None:
    text = CONDITION_PACK.format(runtime="false").replace(
        "clip_violence > 0.5 || prompt_violence > 0.9", when
    )
    with pytest.raises(PolicyError, match=re.escape(message)) as refused:
        PolicyPack.from_yaml(text, source="upload")
    assert "upload: line 7, column 15: stage 'input', rule 'clip.violence.required'" in str(
        refused.value
    )


def test_action_alone_is_the_action_decide_takes() -> None:
    # what a backtest compares: random scores over every category, some not evaluated
    rng = random.Random(3)
    pack = PolicyPack.default()
    for _ in range(2_000):
        stage = rng.choice(("input", "output"))
        signals = [
            _s(
                c,
                rng.random() * (12 if c.startswith("history.") else 1),
                evaluated=rng.random() > 0.1,
            )
            for c in rng.sample(SIGNAL_CATEGORIES, rng.randrange(len(SIGNAL_CATEGORIES)))
        ]
        assert pack.action(stage, signals) == pack.decide(stage, signals, job_id="j").action
