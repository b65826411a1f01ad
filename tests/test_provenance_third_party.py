"""Files signed by others (the C2PA projects' published fixtures, tests/data/c2pa/SOURCES.md)
are judged by the C2PA rules: an unknown signer is `untrusted`, a broken signature or changed
media is `tampered` naming the part, and a remote manifest is named, never fetched. The public
endpoint and the CLI give the same report, and only `valid` exits 0."""

from __future__ import annotations

import json
import pathlib

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.cli.main import main
from tests.support.journey import settings_for

FIXTURES = pathlib.Path(__file__).parent / "data" / "c2pa"
TEST_SIGNER = "CN=C2PA Signer, OU=FOR TESTING_ONLY"
EXPECTED = {
    "CA.jpg": ("untrusted", None),
    "video1.mp4": ("untrusted", None),
    "E-sig-CA.jpg": ("tampered", "signature"),
    "XCA.jpg": ("tampered", "media data"),
    "cloud.jpg": ("remote_manifest", None),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    with TestClient(create_app(settings_for(tmp_path_factory.mktemp("third-party")))) as client:
        yield client


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_third_party_file_is_judged_by_the_c2pa_rules(client: TestClient, name: str) -> None:
    status, part = EXPECTED[name]
    answer = client.post("/v1/verify", files={"file": (name, (FIXTURES / name).read_bytes())})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["status"], report["tampered_part"]) == (status, part), report["message"]
    if status == "remote_manifest":
        assert report["remote_url"].startswith("https://cai-manifests.adobe.com/manifests/")
        assert report["remote_url"] in report["message"]
    else:
        assert report["signer"].startswith(TEST_SIGNER)
        assert report["job_id"] is None, "another's file never claims one of our jobs"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_cli_gives_the_same_report_and_exits_non_zero(
    name: str,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STILLGUARD_HOME", str(tmp_path))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    code = main(["verify", str(FIXTURES / name), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["tampered_part"]) == EXPECTED[name]
    assert code != 0
