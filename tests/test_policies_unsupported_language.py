"""The stage setting `unsupported_language`: a prompt no model reads is never silently allowed."""

from __future__ import annotations

import pytest

from policies.pack import PolicyError, PolicyPack
from safety.signals import UNSUPPORTED_LANGUAGE, Signal

_UNREAD = Signal(UNSUPPORTED_LANGUAGE, 1.0, "lingua", detail='{"language": "zu"}')
_READ = Signal(UNSUPPORTED_LANGUAGE, 0.0, "lingua", detail='{"language": "es"}')


def _pack(setting: str | None) -> PolicyPack:
    stage = {"default_action": "allow", "rules": []}
    if setting is not None:
        stage["unsupported_language"] = setting
    output = {"default_action": "allow", "rules": []}  # a pack defines every stage
    return PolicyPack.from_dict({"version": "t", "stages": {"input": stage, "output": output}})


def test_default_is_review_with_a_reason() -> None:
    decision = _pack(None).decide("input", [_UNREAD], job_id="j")
    assert decision.action == "review"
    assert decision.rules_fired == ("input.unsupported_language",)
    assert "zu" in decision.reasons[0]


def test_covered_language_changes_nothing() -> None:
    assert _pack(None).decide("input", [_READ], job_id="j").action == "allow"


def test_block_can_be_chosen() -> None:
    assert _pack("block").decide("input", [_UNREAD], job_id="j").action == "block"


@pytest.mark.parametrize("setting", ["allow", "label", "restrict", "ignore"])
def test_anything_that_publishes_unread_prompts_is_refused(setting: str) -> None:
    with pytest.raises(PolicyError, match="unsupported_language"):
        _pack(setting)


def test_default_pack_reviews_and_round_trips() -> None:
    pack = PolicyPack.default()
    assert pack.stages["input"].unsupported_language == "review"
    again = PolicyPack.from_dict(pack.to_dict())
    assert again.stages["input"].unsupported_language == "review"
