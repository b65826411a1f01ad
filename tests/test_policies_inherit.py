"""Inheriting a stage explicitly: `stages: {output: {inherit: VERSION}}` copies that stored
version's stage at upload, so every stored version is whole on its own and hashed as stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from policies.pack import PolicyError, PolicyPack
from stillguard.container import StageDeps, open_store
from stillguard.errors import InvalidInput
from stillguard.services import admin
from stillguard.settings import Settings

BASE = b"""
version: "base-1"
stages:
  input:
    default_action: label
    rules: []
  output:
    default_action: review
    rules:
      - {id: output.nsfw.block, category: nsfw, threshold: 0.7, action: block}
"""
CHILD = """
version: "{version}"
stages:
  input:
    default_action: allow
    rules: []
  output: {{inherit: "{parent}"}}
"""


def child(version: str = "child-1", parent: str = "base-1") -> bytes:
    return CHILD.format(version=version, parent=parent).encode()


def test_an_inherited_stage_is_copied_at_upload_and_the_stored_version_is_self_contained(
    deps: StageDeps,
) -> None:
    admin.upload_policy(deps, BASE, admin="root")
    stored = admin.upload_policy(deps, child(), admin="root", activate_on="default")
    body = deps.policies.versions.get("child-1").body
    assert "inherit: " not in body and "inherited from version 'base-1'" in body
    assert stored.sha256 == hashlib.sha256(body.encode()).hexdigest(), "hash of what is stored"
    pack = PolicyPack.from_yaml(body)
    assert pack.stages["output"] == PolicyPack.from_yaml(BASE.decode()).stages["output"]
    assert pack.stages["input"].default_action == "allow"
    assert deps.policy.decide("output", [], job_id="j").action == "review"


def test_inheriting_from_an_unknown_version_is_a_400_naming_the_line(deps: StageDeps) -> None:
    with pytest.raises(InvalidInput, match=r"line 7, column 21: .*no policy version 'base-9'"):
        admin.upload_policy(deps, child(parent="base-9"), admin="root")
    assert admin.policy_history(deps)["versions"] == []


def test_a_pack_inheriting_from_itself_is_a_400_cycle(deps: StageDeps) -> None:
    with pytest.raises(InvalidInput, match="cycle"):
        admin.upload_policy(deps, child("loop-1", parent="loop-1"), admin="root")
    assert admin.policy_history(deps)["versions"] == []


def test_an_inheriting_stage_has_no_other_keys(deps: StageDeps) -> None:
    admin.upload_policy(deps, BASE, admin="root")
    mixed = child().replace(b'{inherit: "base-1"}', b'{inherit: "base-1", rules: []}')
    with pytest.raises(InvalidInput, match="inherit.*nothing else"):
        admin.upload_policy(deps, mixed, admin="root")


def test_a_pack_file_loaded_directly_cannot_inherit() -> None:
    with pytest.raises(PolicyError, match="resolved at upload"):
        PolicyPack.from_yaml(child().decode())


def test_the_api_upload_resolves_inheritance_and_answers_400_for_unknown_or_cyclic(
    settings: Settings,
) -> None:
    from fastapi.testclient import TestClient

    from stillguard.api import create_app

    key = open_store(settings).create_api_key("admin")[1]
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        for bad in (child(parent="base-1"), child("loop-1", parent="loop-1")):
            answer = client.post("/v1/policies/versions", content=bad, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_policy"
        assert client.post("/v1/policies/versions", content=BASE, headers=headers).is_success
        uploaded = client.post("/v1/policies/versions", content=child(), headers=headers)
        assert uploaded.status_code == 200, uploaded.text
        assert client.post("/v1/policies/versions/child-1/activate", headers=headers).is_success
        active = client.get("/v1/policies", headers=headers).json()
    assert active["version"] == "child-1"
    output = active["pack"]["stages"]["output"]
    assert output["default_action"] == "review"
    assert [r["id"] for r in output["rules"]] == ["output.nsfw.block"]


def test_the_cli_upload_resolves_inheritance(
    tmp_path: Path, cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stillguard.cli import main

    files = {"base": BASE, "child": child(), "orphan": child("orphan-1", parent="nope-1")}
    for name, body in files.items():
        (tmp_path / f"{name}.yaml").write_bytes(body)
    assert main(["policy", "upload", str(tmp_path / "orphan.yaml")]) == 2
    assert "no policy version 'nope-1'" in capsys.readouterr().err
    assert main(["policy", "upload", str(tmp_path / "base.yaml")]) == 0
    assert main(["policy", "upload", str(tmp_path / "child.yaml"), "--activate"]) == 0
    capsys.readouterr()
    assert main(["policy", "history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in history["versions"]] == ["base-1", "child-1"]
    assert [a["version"] for a in history["activations"]] == ["child-1"]
