"""Backtest: replay recorded signals through a candidate pack and report what would change."""

from __future__ import annotations

from policies.backtest import backtest, replay
from policies.pack import PolicyPack
from safety.signals import Signal

STRICTER = """
version: "candidate"
stages:
  input:
    default_action: label
    rules:
      - {id: nsfw.block, category: nsfw, threshold: 0.3, action: block}
  output:
    default_action: label
    rules: []
"""


def _event(job: str, stage: str, action: str, nsfw: float, kind: str = "decision") -> dict:
    return {
        "job_id": job,
        "stage": stage,
        "kind": kind,
        "action": action,
        "policy_version": "2026.11.0",
        "signals": [Signal("nsfw", nsfw, "open-nsfw@1.0.0").to_dict()],
    }


def test_backtest_reports_only_changed_decisions() -> None:
    events = [
        _event("a", "input", "label", 0.1),
        _event("b", "input", "label", 0.4),
        _event("c", "input", "review", 0.6),
        _event("d", "output", "label", 0.9),
        _event("e", "generation", "done", 0.0, kind="stage"),
    ]
    report = backtest(PolicyPack.from_yaml(STRICTER), events)
    assert report.replayed == 4 and report.unchanged == 2
    assert [(c.job_id, c.old_action, c.new_action) for c in report.changes] == [
        ("b", "label", "block"),
        ("c", "review", "block"),
    ]
    summary = report.to_dict()
    assert (
        summary["changed"] == 2
        and {"from": "label", "to": "block", "count": 1} in summary["transitions"]
    )


def test_dry_run_decides_without_recording() -> None:
    decision = replay(PolicyPack.default(), "input", [Signal("nsfw", 0.95, "m").to_dict()])
    assert decision.action == "block"


def test_default_pack_backtested_on_itself_changes_nothing() -> None:
    pack = PolicyPack.default()
    events = [
        {
            **_event(str(i), "input", "x", score),
            "action": replay(pack, "input", [Signal("nsfw", score, "m").to_dict()]).action,
        }
        for i, score in enumerate((0.0, 0.55, 0.85))
    ]
    assert backtest(pack, events).changes == []
