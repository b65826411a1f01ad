"""What is and is not moderated: `stillguard doctor`, `/readyz` details, and every decision's
list of the categories it could not evaluate (issue 12, photo categories by default).

On a default install CLIP has no checkpoint, so its categories are "not evaluated" with the
setting that enables them; a pack that requires one of them sends jobs to review and makes
doctor exit 5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from policies.pack import PolicyPack
from safety.clip_classifier import CATEGORY_PROMPTS
from safety.signals import Signal
from stillguard.api import create_app
from stillguard.cli import main
from stillguard.cli.doctor import EXIT_REQUIRED_UNEVALUATED
from stillguard.container import open_store
from tests.support.journey import SMALL_CLIP, SMALL_CLIP_ARGS, settings_for, wait_for
from tests.support.samples import SAMPLE_PHOTO

CLIP_CATEGORIES = set(CATEGORY_PROMPTS)  # violence, weapons, self-harm, hate symbols, ...
REQUIRE_MINORS = b"""
version: "require-minors-1"
stages:
  input:
    default_action: label
    rules:
      - {id: input.clip.minors.required, category: clip.minors, threshold: 0.5, action: review,
         require: true}
  output:
    default_action: label
    rules: []
"""


def _doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["doctor", "--json"])
    return code, json.loads(capsys.readouterr().out)


def _rows(report: dict) -> dict[str, dict]:
    return {row["category"]: row for row in report["categories"]}


def test_decisions_name_the_categories_they_could_not_evaluate() -> None:
    pack = PolicyPack.default()
    signals = [
        Signal("nsfw", 0.1, "m"),
        Signal("clip.weapons", 0.0, "clip", evaluated=False),
        Signal("clip.minors", 0.0, "clip", evaluated=False),
        Signal("clip.minors", 0.0, "clip", evaluated=False),
        # One frame without a score beside a scored one is not a gap.
        Signal("drift", 0.0, "d", evaluated=False),
        Signal("drift", 0.1, "d"),
    ]
    decision = pack.decide("input", signals, job_id="j")
    assert decision.unevaluated == ("clip.weapons", "clip.minors")
    assert decision.to_dict()["unevaluated"] == ["clip.weapons", "clip.minors"]
    assert pack.decide("input", signals[:1], job_id="j").unevaluated == ()


def test_doctor_on_a_default_install_lists_clip_as_not_evaluated_with_the_step_that_enables_it(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _doctor(capsys)
    assert code == 0 and report["ok"] and report["required_not_evaluated"] == []
    assert all(part["ok"] for part in report["health"].values()), report["health"]
    assert set(report["health"]) == {"audit_store", "blob_store", "authority", "kafka"}
    rows = _rows(report)
    for category in CLIP_CATEGORIES:
        row = rows[category]
        assert not row["evaluated"] and "STILLGUARD_CLIP_CHECKPOINT" in row["why"]
        assert "STILLGUARD_CLIP_CHECKPOINT" in row["enable"] and "open_clip" in row["enable"]
    assert rows["nsfw"]["evaluated"] and rows["nsfw"]["model"].startswith("open-nsfw@")
    assert rows["faces.count"]["evaluated"]
    assert rows["prompt.sexual"]["evaluated"] and rows["prompt.language.unsupported"]["evaluated"]
    assert not rows["hash.*"]["evaluated"] and "STILLGUARD_HASH_BANKS" in rows["hash.*"]["enable"]
    # The default pack requires the output's nsfw and flash checks, and they are evaluated.
    assert rows["nsfw"]["required_by"] and rows["flash.general"]["required_by"]
    assert main(["doctor"]) == 0
    human = capsys.readouterr().out
    assert "NOT evaluated  clip.minors" in human and "to enable: set STILLGUARD_CLIP" in human


def test_doctor_exits_5_when_the_active_pack_requires_an_unevaluated_category(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_bytes(REQUIRE_MINORS)
    assert main(["policy", "upload", str(pack), "--activate"]) == 0
    capsys.readouterr()
    code, report = _doctor(capsys)
    assert code == EXIT_REQUIRED_UNEVALUATED == report["exit_status"] and not report["ok"]
    assert report["required_not_evaluated"] == ["clip.minors"]
    assert _rows(report)["clip.minors"]["required_by"] == [
        "input.clip.minors.required (require-minors-1, surface default)"
    ]


def test_doctor_shows_clip_evaluated_with_a_tiny_open_clip_checkpoint(
    cli_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("open_clip", reason="open_clip is an optional extra")
    from tests.support.tiny_clip import tiny_clip_folder

    weights = tiny_clip_folder(tmp_path / "tiny-open-clip")
    monkeypatch.setenv("STILLGUARD_CLIP_CHECKPOINT", str(weights))
    code, report = _doctor(capsys)
    assert code == 0
    rows = _rows(report)
    for category in CLIP_CATEGORIES:
        assert rows[category]["evaluated"], rows[category]
        assert rows[category]["model"].startswith("open-clip-tiny-open-clip@")


def test_run_and_check_json_list_the_unevaluated_categories(
    cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_bytes(REQUIRE_MINORS)
    monkeypatch.setenv("STILLGUARD_POLICY_PATH", str(pack))
    photo = str(SAMPLE_PHOTO)
    code = main(["run", photo, "--out", str(tmp_path / "c.mp4"), "--json", *SMALL_CLIP_ARGS])
    run = json.loads(capsys.readouterr().out)
    assert code == 4 and run["status"] == "held"
    assert set(run["decisions"][0]["unevaluated"]) >= CLIP_CATEGORIES
    assert main(["check", photo, "--json"]) == 4
    check = json.loads(capsys.readouterr().out)
    assert set(check["decision"]["unevaluated"]) >= CLIP_CATEGORIES
    assert any("clip.minors not evaluated" in r for r in check["decision"]["reasons"])


def test_a_pack_requiring_clip_minors_sends_an_api_job_to_review_naming_the_category(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    settings = settings_for(home)  # the real defaults: no CLIP checkpoint
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "reviewer", "admin")}
    auth = {role: {"Authorization": f"Bearer {secret}"} for role, secret in keys.items()}
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        details = ready.json()["details"]
        assert details["required_not_evaluated"] == []
        rows = _rows(details)
        assert not rows["clip.minors"]["evaluated"]
        assert "STILLGUARD_CLIP_CHECKPOINT" in rows["clip.minors"]["enable"]
        assert str(home) not in ready.text and "passphrase" not in ready.text

        put = client.put("/v1/policies", content=REQUIRE_MINORS, headers=auth["admin"])
        assert put.status_code == 200, put.text
        assert client.get("/readyz").json()["details"]["required_not_evaluated"] == ["clip.minors"]

        files = {"image": ("photo.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")}
        data = {"options": json.dumps(SMALL_CLIP)}
        answer = client.post("/v1/jobs", files=files, data=data, headers=auth["submitter"])
        assert answer.status_code == 202, answer.text
        job = wait_for(client, auth["submitter"], answer.json()["job_id"])
        assert job["status"] == "held"
        (decision,) = job["decisions"]
        assert decision["action"] == "review"
        assert any("clip.minors not evaluated" in reason for reason in decision["reasons"])
        assert set(decision["unevaluated"]) >= CLIP_CATEGORIES

        params = {"job": job["id"], "stage": "input"}
        audit = client.get("/v1/audit", params=params, headers=auth["reviewer"]).json()
        (event,) = [e for e in audit["events"] if e["kind"] == "decision"]
        assert set(event["payload"]["unevaluated"]) >= CLIP_CATEGORIES
