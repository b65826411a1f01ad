"""Backtest: replay recorded signals through a candidate pack and report what would change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.records import AuditQuery, EventDraft
from audit.store import AuditStore
from policies.backtest import backtest, replay
from policies.pack import PolicyPack
from safety.signals import Signal
from stillguard.cli import main
from stillguard.container import open_store
from stillguard.services.backtests import backtest_log
from tests.support.journey import settings_for

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


def _draft(event: dict) -> EventDraft:
    """A recorded decision as the store appends it."""
    return EventDraft(**{k: v for k, v in event.items() if k != "job_id"}, job_id=event["job_id"])


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


def test_two_versions_are_compared_on_the_same_recorded_signals() -> None:
    """With a baseline pack, the old action is what the baseline decides now, not what was
    recorded: two versions compared over the same stored signals."""
    events = [_event("a", "input", "block", 0.1), _event("b", "input", "allow", 0.4)]
    report = backtest(PolicyPack.from_yaml(STRICTER), events, baseline=PolicyPack.default())
    assert report.baseline_version == PolicyPack.default().version
    assert [(c.job_id, c.old_action, c.new_action) for c in report.changes] == [
        ("b", "label", "block")
    ]
    assert report.changes[0].old_policy_version == PolicyPack.default().version


def test_workers_split_the_log_and_give_the_same_report_in_log_order(
    audit_store: AuditStore,
) -> None:
    # 240 decisions, a reviewer's own decision and a stage event among them; the output stage
    # is alike in both packs, the input stage is not
    for i in range(240):
        event = _event(f"j{i}", ("input", "output")[i % 2], "label", (i * 37 % 100) / 100)
        audit_store.append(_draft(event))
        if i == 10:
            audit_store.append(
                EventDraft(
                    job_id="j10",
                    stage="input",
                    kind="decision",
                    action="allow",
                    payload={"reviewer": "ana"},
                )
            )
            audit_store.append(EventDraft(job_id="j10", stage="generation", kind="stage"))
    stricter = PolicyPack.from_yaml(STRICTER)
    looser = PolicyPack.from_yaml(STRICTER.replace("0.3", "0.6").replace("candidate", "base"))
    for baseline in (looser, None):
        alone = backtest_log(audit_store, stricter, baseline=baseline).to_dict()
        split = backtest_log(audit_store, stricter, baseline=baseline, workers=3, min_stretch=50)
        assert split.to_dict() == alone and alone["replayed"] == 240
        assert 0 < alone["changed"] < 240
    assert audit_store.events(AuditQuery(limit=1))  # the parent's store still answers


def test_the_cli_compares_two_stored_versions_over_a_time_range_and_names_the_jobs(
    tmp_path: Path, cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = cli_home
    store = open_store(settings_for(home))
    for job, nsfw in (("job-calm", 0.1), ("job-edge", 0.4), ("job-edge2", 0.45)):
        store.append(_draft(_event(job, "input", "label", nsfw)))
    store.close()
    (tmp_path / "candidate.yaml").write_text(STRICTER)
    assert main(["policy", "upload", str(tmp_path / "candidate.yaml")]) == 0
    capsys.readouterr()

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    backtest_cli = ["policy", "backtest", "candidate", "--baseline", PolicyPack.default().version]
    assert main([*backtest_cli, "--until", later]) == 0
    human = capsys.readouterr().out
    assert "3 decisions replayed, 2 would change" in human
    assert "job-edge: input label -> block" in human and "job-calm" not in human
    assert main([*backtest_cli, "--since", later, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["replayed"] == 0
    assert main(["policy", "backtest", "no-such-version"]) == 2
    assert "no-such-version" in capsys.readouterr().err
