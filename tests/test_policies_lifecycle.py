"""Policy packs as immutable versions in the database: upload, activate, roll back, history.

Every change is audited, and a refused upload or activation changes nothing, on SQLite and on
PostgreSQL. Running processes pick up a new active version without a restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import AuditQuery, AuditStore
from policies.pack import PolicyPack
from stillguard.container import StageDeps, build_deps, open_store
from stillguard.errors import Conflict, InvalidInput, NotFound
from stillguard.services import admin
from stillguard.settings import Settings

PACK = """
version: "{version}"
stages:
  input:
    default_action: label
    rules:
      - {{id: input.nsfw.block, category: nsfw, threshold: 0.8, action: block}}
  output:
    default_action: {output_action}
    rules: []
"""


def pack(version: str, output_action: str = "label") -> bytes:
    return PACK.format(version=version, output_action=output_action).encode()


def _policy_events(store: AuditStore) -> list[str]:
    return [e.kind for e in store.events(AuditQuery(stage="policy"))]


def test_a_nul_in_the_version_is_a_400_and_the_active_pack_stays(deps: StageDeps) -> None:
    admin.publish_policy(deps, pack("v1"), admin="root")
    with pytest.raises(InvalidInput, match="line 2, column 12: control character U\\+0000"):
        admin.publish_policy(deps, pack("v\x002"), admin="root")
    assert deps.policy.version == "v1"
    assert _policy_events(deps.store) == ["policy.uploaded", "policy.activated"]


def test_a_65_character_version_is_a_400_and_the_active_pack_stays(deps: StageDeps) -> None:
    admin.publish_policy(deps, pack("v1"), admin="root")
    with pytest.raises(InvalidInput, match="version"):
        admin.publish_policy(deps, pack("v" * 65), admin="root")
    assert deps.policy.version == "v1"
    assert [v["version"] for v in admin.policy_history(deps)["versions"]] == ["v1"]


def test_upload_activate_rollback_and_history_are_each_audited(deps: StageDeps) -> None:
    default_version = PolicyPack.default().version
    assert deps.policy.version == default_version, "no version uploaded: the shipped default"
    admin.upload_policy(deps, pack("v1"), admin="root")
    admin.upload_policy(deps, pack("v2", "review"), admin="root")
    assert deps.policy.version == default_version, "uploading does not activate"
    admin.activate_policy_version(deps, "v1", admin="root")
    assert deps.policy.version == "v1"
    admin.activate_policy_version(deps, "v2", admin="root")
    assert deps.policy.decide("output", [], job_id="j").action == "review"
    assert admin.rollback_policy(deps, admin="root").version == "v1"
    assert deps.policy.version == "v1"
    history = admin.policy_history(deps)
    assert [a["version"] for a in history["activations"]][:3] == ["v1", "v2", "v1"]
    assert all(len(v["sha256"]) == 64 for v in history["versions"])
    assert _policy_events(deps.store) == [
        "policy.uploaded",
        "policy.uploaded",
        "policy.activated",
        "policy.activated",
        "policy.rolled_back",
    ]


def test_refused_changes_change_nothing(deps: StageDeps) -> None:
    admin.publish_policy(deps, pack("v1"), admin="root")
    before = admin.policy_history(deps)
    with pytest.raises(Conflict, match="already"):
        admin.upload_policy(deps, pack("v1", "review"), admin="root")
    with pytest.raises(NotFound):
        admin.activate_policy_version(deps, "nope", admin="root")
    with pytest.raises(Conflict, match="roll back"):
        admin.rollback_policy(deps, admin="root")
    with pytest.raises(InvalidInput, match="stage"):
        admin.upload_policy(deps, b'version: "v9"\nstages: {input: {rules: []}}', admin="root")
    assert admin.policy_history(deps) == before
    assert deps.policy.version == "v1"


def test_another_process_picks_up_a_new_active_version_without_a_restart(
    deps: StageDeps, settings: Settings
) -> None:
    other_store = open_store(settings)  # a second worker: its own pool on the same database
    other = build_deps(settings, other_store)
    try:
        assert other.policy.version == PolicyPack.default().version
        admin.publish_policy(deps, pack("v7"), admin="root")
        assert other.policy.version == "v7"
    finally:
        other_store.close()


def test_the_api_answers_400_for_bad_versions_and_keeps_the_active_pack(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from stillguard.api import create_app

    key = open_store(settings).create_api_key("admin")[1]
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        assert client.put("/v1/policies", content=pack("v1"), headers=headers).status_code == 200
        for bad in (pack("v\x002"), pack("v" * 65), b'version: "v3"\nstages: {input: {}}\n'):
            answer = client.put("/v1/policies", content=bad, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_policy"
        assert client.get("/v1/policies", headers=headers).json()["version"] == "v1"
        uploaded = client.post("/v1/policies/versions", content=pack("v2"), headers=headers)
        assert uploaded.status_code == 200 and len(uploaded.json()["sha256"]) == 64
        again = client.post("/v1/policies/versions", content=pack("v2"), headers=headers)
        assert again.status_code == 409
        switched = client.post("/v1/policies/versions/v2/activate", headers=headers)
        assert switched.status_code == 200 and switched.json()["version"] == "v2"
        assert client.post("/v1/policies/rollback", headers=headers).json()["version"] == "v1"
        history = client.get("/v1/policies/history", headers=headers).json()
        assert [a["version"] for a in history["activations"]] == ["v1", "v2", "v1"]


def test_the_cli_uploads_activates_rolls_back_and_lists(
    tmp_path: Path, cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from stillguard.cli import main

    for version in ("v1", "v2"):
        (tmp_path / f"{version}.yaml").write_bytes(pack(version))
    assert main(["policy", "upload", str(tmp_path / "v1.yaml"), "--activate"]) == 0
    assert main(["policy", "upload", str(tmp_path / "v2.yaml")]) == 0
    assert main(["policy", "upload", str(tmp_path / "v2.yaml")]) == 2, "versions are immutable"
    assert main(["policy", "activate", "v2"]) == 0
    assert main(["policy", "rollback"]) == 0
    capsys.readouterr()
    assert main(["policy", "history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [a["version"] for a in history["activations"]] == ["v1", "v2", "v1"]
    assert [v["version"] for v in history["versions"]] == ["v1", "v2"]


def test_a_shadow_pack_is_recorded_beside_the_active_one_and_reported(deps: StageDeps) -> None:
    from safety.signals import Signal
    from stillguard.services.shadow import record_shadow, shadow_report

    admin.publish_policy(deps, pack("v1"), admin="root")
    admin.upload_policy(deps, pack("v2", "review"), admin="root")
    assert (
        record_shadow(deps, "job0", "output", [], deps.policy.decide("output", [], job_id="j"))
        is None
    )
    admin.shadow_policy_version(deps, "v2", admin="root")
    signals = [Signal("nsfw", 0.9, "test")]
    for job, stage, found in [
        ("job1", "output", []),
        ("job2", "output", []),
        ("job3", "input", signals),
    ]:
        active = deps.policy.decide(stage, found, job_id=job)
        shadow = record_shadow(deps, job, stage, found, active)
        assert shadow is not None and shadow.policy_version == "v2"
    assert deps.policy.version == "v1", "the shadow pack enforces nothing"
    report = shadow_report(deps)
    assert (report["decisions"], report["agreed"]) == (3, 1)
    assert report["agreement_rate"] == pytest.approx(1 / 3)
    assert report["changes"] == [{"stage": "output", "from": "label", "to": "review", "count": 2}]
    assert report["rules"] == [{"rule": "(default action)", "count": 2}]
    admin.withdraw_shadow(deps, admin="root")
    assert (
        record_shadow(deps, "job4", "output", [], deps.policy.decide("output", [], job_id="j"))
        is None
    )
