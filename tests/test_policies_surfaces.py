"""Per-surface packs: the submitting service names a job's surface, and every gate decides it
with that surface's active pack (a stricter pack for teen accounts, say).

The same photo and prompt are published on the default surface and refused on "teen", through
the API and the CLI, and each decision names the version that made it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from audit import AuditQuery
from policies.pack import PolicyPack
from safety.signals import Signal
from stillguard.api import create_app
from stillguard.cli import main
from stillguard.container import StageDeps, open_store
from stillguard.errors import InvalidInput
from stillguard.services import admin
from stillguard.services.intake import JobRequest, submit_job
from stillguard.services.shadow import record_shadow
from tests.support.journey import SMALL_CLIP, SMALL_CLIP_ARGS, png_bytes, settings_for, wait_for
from tests.support.samples import SAMPLE_PHOTO

PROMPT = "clouds drifting over the sea, gentle waves"
# Stricter than any default: any evaluated photo score blocks, whatever the photo shows.
TEEN_PACK = b"""
version: "teen-1"
stages:
  input:
    default_action: review
    rules:
      - {id: teen.input.nsfw.block, category: nsfw, threshold: 0.0, action: block}
  output:
    default_action: review
    rules: []
"""
DEFAULT_VERSION = PolicyPack.default().version


def _request(surface: str) -> JobRequest:
    return JobRequest(
        photo=png_bytes(), prompt=PROMPT, options=SMALL_CLIP, submitter="s", surface=surface
    )


def test_a_job_on_a_surface_without_an_active_pack_is_a_400_at_submission(
    deps: StageDeps,
) -> None:
    with pytest.raises(InvalidInput, match="no active policy pack") as refused:
        submit_job(deps.store, deps.blobs, _request("teen"), policies=deps.policies)
    assert refused.value.code == "unknown_surface"
    with pytest.raises(InvalidInput, match="surface names") as malformed:
        submit_job(deps.store, deps.blobs, _request("Teen Accounts"), policies=deps.policies)
    assert malformed.value.code == "invalid_surface"
    assert deps.store.events(AuditQuery(kind="job.created")) == []
    admin.upload_policy(deps, TEEN_PACK, admin="root", activate_on="teen")
    job = submit_job(deps.store, deps.blobs, _request("teen"), policies=deps.policies)
    assert job.surface == "teen"
    assert deps.store.get_job(job.id).surface == "teen"
    default = submit_job(deps.store, deps.blobs, _request("default"), policies=deps.policies)
    assert default.surface == "default"


def test_the_shadow_pack_of_the_jobs_surface_is_the_one_replayed(deps: StageDeps) -> None:
    admin.upload_policy(deps, TEEN_PACK, admin="root", activate_on="teen")
    admin.shadow_policy_version(deps, "teen-1", admin="root", surface="teen")
    signals = [Signal("nsfw", 0.1, "test")]
    active = deps.policies.current().decide("input", signals, job_id="j")
    assert record_shadow(deps, "job1", "input", signals, active) is None, "no shadow on default"
    shadow = record_shadow(deps, "job2", "input", signals, active, surface="teen")
    assert shadow is not None and (shadow.policy_version, shadow.action) == ("teen-1", "block")


def _versions(job: dict) -> dict[str, str]:
    return {d["stage"]: d["policy_version"] for d in job["decisions"] if d.get("policy_version")}


def test_the_api_refuses_on_teen_what_it_publishes_on_default_naming_each_version(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path / "home")
    store = open_store(settings)
    keys = {role: store.create_api_key(role)[1] for role in ("submitter", "admin")}
    submitter = {"Authorization": f"Bearer {keys['submitter']}"}
    root = {"Authorization": f"Bearer {keys['admin']}"}
    photo = {"image": ("photo.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")}

    def submit(**fields: str):  # type: ignore[no-untyped-def]
        data = {"prompt": PROMPT, "options": json.dumps(SMALL_CLIP), **fields}
        return client.post("/v1/jobs", files=photo, data=data, headers=submitter)

    with TestClient(create_app(settings)) as client:
        unknown = submit(surface="teen")
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_surface"
        malformed = submit(surface="TEEN!")
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "invalid_surface"
        uploaded = client.post("/v1/policies/versions", content=TEEN_PACK, headers=root)
        assert uploaded.status_code == 200, uploaded.text
        assert client.post(
            "/v1/policies/versions/teen-1/activate", params={"surface": "teen"}, headers=root
        ).is_success

        teen = submit(surface="teen")
        default = submit()
        assert (teen.status_code, default.status_code) == (202, 202), teen.text
        assert teen.json()["surface"] == "teen" and default.json()["surface"] == "default"
        teen_job = wait_for(client, submitter, teen.json()["job_id"])
        default_job = wait_for(client, submitter, default.json()["job_id"])

    assert teen_job["status"] == "refused"
    assert _versions(teen_job) == {"input": "teen-1"}
    assert "teen.input.nsfw.block" in teen_job["decisions"][0]["reasons"][0]
    assert default_job["status"] == "published", default_job
    assert _versions(default_job) == {"input": DEFAULT_VERSION, "output": DEFAULT_VERSION}
    recorded = store.events(AuditQuery(job_id=teen_job["job_id"], stage="input"))
    assert [e.policy_version for e in recorded if e.kind == "decision"] == ["teen-1"]
    store.close()


def test_the_cli_runs_a_job_on_the_surface_it_is_given(
    tmp_path: Path, cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "teen.yaml").write_bytes(TEEN_PACK)
    run = ["run", str(SAMPLE_PHOTO), "--prompt", PROMPT, *SMALL_CLIP_ARGS, "--json"]

    def run_json(*extra: str) -> tuple[int, dict]:
        capsys.readouterr()
        code = main([*run, "--out", str(tmp_path / "clip.mp4"), *extra])
        out = capsys.readouterr().out.strip()
        return code, json.loads(out) if out else {}

    assert main([*run, "--surface", "teen"]) == 2, "no pack active on teen: refused at once"
    assert "no active policy pack" in capsys.readouterr().err
    assert (
        main(["policy", "upload", str(tmp_path / "teen.yaml"), "--activate", "--surface", "teen"])
        == 0
    )
    code, teen = run_json("--surface", "teen")
    assert teen["status"] == "refused" and code != 0
    assert _versions(teen) == {"input": "teen-1"}
    code, default = run_json()
    assert (code, default["status"]) == (0, "published")
    assert _versions(default) == {"input": DEFAULT_VERSION, "output": DEFAULT_VERSION}


def test_check_moderates_with_the_surface_it_is_given_in_the_cli_and_the_api(
    tmp_path: Path, cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A product team trying a photo before submitting it on the teen surface sees the teen
    decision, not the default one; a surface with no active pack is a clear error."""
    home = cli_home
    (tmp_path / "teen.yaml").write_bytes(TEEN_PACK)
    check = ["check", str(SAMPLE_PHOTO), "--json"]
    assert main([*check, "--surface", "teen"]) == 2
    assert "no active policy pack" in capsys.readouterr().err
    assert (
        main(["policy", "upload", str(tmp_path / "teen.yaml"), "--activate", "--surface", "teen"])
        == 0
    )
    capsys.readouterr()
    assert main([*check, "--surface", "teen"]) == 3
    teen = json.loads(capsys.readouterr().out)["decision"]
    assert (teen["action"], teen["policy_version"]) == ("block", "teen-1")
    assert main(check) == 0
    assert json.loads(capsys.readouterr().out)["decision"]["policy_version"] == DEFAULT_VERSION

    store = open_store(settings_for(home))
    key = {"Authorization": f"Bearer {store.create_api_key('submitter')[1]}"}
    photo = {"file": ("photo.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")}
    with TestClient(create_app(settings_for(home))) as client:
        teen_api = client.post("/v1/check", files=photo, data={"surface": "teen"}, headers=key)
        unknown = client.post("/v1/check", files=photo, data={"surface": "kids"}, headers=key)
        default_api = client.post("/v1/check", files=photo, headers=key)
    store.close()
    assert teen_api.status_code == 200, teen_api.text
    assert teen_api.json()["decision"]["policy_version"] == "teen-1"
    assert teen_api.json()["decision"]["action"] == "block"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_surface")
    assert default_api.json()["decision"]["policy_version"] == DEFAULT_VERSION
