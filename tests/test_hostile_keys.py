"""The authority's keys under attack (issue 15, finding 6): verifying needs no private key, a bad
time-stamp request is a 4xx, `run` checks its keys first, and a lost passphrase is never replaced."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.cli import main
from stillguard.container import open_authority
from stillguard.settings import Settings, SettingsError
from tests.support.journey import SMALL_CLIP_ARGS, settings_for
from tests.support.media_bombs import black_mp4
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose authority's keys are encrypted with the passphrase settings_for uses."""
    open_authority(settings_for(tmp_path))
    return tmp_path


@pytest.fixture
def wrong_passphrase(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "not-the-passphrase")
    return settings_for(home, STILLGUARD_KEY_PASSPHRASE="not-the-passphrase")


def test_verify_needs_no_private_keys(
    home: Path, wrong_passphrase: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = home / "clip.mp4"
    clip.write_bytes(black_mp4(8, 192, 108))
    assert main(["verify", str(clip), "--json"]) == 1
    assert '"status": "no_manifest"' in capsys.readouterr().out
    with TestClient(create_app(wrong_passphrase)) as client:
        answer = client.post("/v1/verify", files={"file": ("c.mp4", clip.read_bytes())})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "no_manifest"


@pytest.mark.parametrize("body", [b"", b"garbage", b"\x30\x03\x02\x01"])
def test_a_malformed_time_stamp_request_is_a_4xx(home: Path, body: bytes) -> None:
    with TestClient(create_app(settings_for(home))) as client:
        answer = client.post(
            "/tsa", content=body, headers={"Content-Type": "application/timestamp-query"}
        )
    assert 400 <= answer.status_code < 500, answer.text


def test_time_stamping_with_unreadable_keys_is_unavailable_not_a_crash(
    wrong_passphrase: Settings,
) -> None:
    with TestClient(create_app(wrong_passphrase)) as client:
        answer = client.post(
            "/tsa", content=b"x", headers={"Content-Type": "application/timestamp-query"}
        )
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "keys_unavailable"


def test_run_checks_the_keys_before_generating(
    home: Path, wrong_passphrase: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = main(["run", str(SAMPLE_PHOTO), *SMALL_CLIP_ARGS, "--out", str(home / "o.mp4")])
    took = time.monotonic() - started
    printed = capsys.readouterr()
    assert code == 1 and "keys_unavailable" in printed.out + printed.err
    assert took < 5, f"run spent {took:.1f} s before refusing"
    assert not (home / "o.mp4").exists()


def test_a_deleted_passphrase_file_is_not_replaced_while_keys_need_it(tmp_path: Path) -> None:
    settings = Settings.from_env({"STILLGUARD_HOME": str(tmp_path)})
    open_authority(settings)  # generates HOME/key-passphrase and encrypts the keys with it
    (tmp_path / "key-passphrase").unlink()
    with pytest.raises(SettingsError, match="STILLGUARD_KEY_PASSPHRASE") as refused:
        settings.resolve_passphrase()
    assert "restore" in str(refused.value)
    assert not (tmp_path / "key-passphrase").exists()


def test_everything_under_home_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from stillguard.container import build_deps, open_store
    from stillguard.services.intake import JobRequest, submit_job

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "left-by-an-older-version.txt").write_text("x")
    (home / "left-by-an-older-version.txt").chmod(0o644)
    settings = settings_for(home)
    store = open_store(settings)
    open_authority(settings)
    deps = build_deps(settings, store)
    request = JobRequest(SAMPLE_PHOTO.read_bytes(), "waves", {}, submitter="cli")
    submit_job(store, deps.blobs, request)  # the photo goes to HOME/blobs
    assert (home / "audit.sqlite3").exists() and (home / "authority" / "signing").is_dir()
    assert any((home / "blobs").rglob("*"))
    lax = [
        f"{path.relative_to(home)} {path.stat().st_mode & 0o777:o}"
        for path in [home, *home.rglob("*")]
        if path.stat().st_mode & 0o077
    ]
    assert not lax, lax


def test_tightening_home_tolerates_files_another_process_moves_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's atomic write (the authority's `.authority-*` staging folder, a blob's
    temporary file) can be renamed away between the walk's listing and its chmod; opening the
    store must not fail for that (it did, as a FileNotFoundError in a review-claims test)."""
    import os

    from stillguard import container

    home = tmp_path / "home"
    staging = home / ".authority-staging"
    staging.mkdir(parents=True, mode=0o755)
    (staging / "root.pem").write_text("x")
    (home / "kept.txt").write_text("x")
    (home / "kept.txt").chmod(0o644)
    real_walk = os.walk

    def walk_while_a_rename_lands(top: Path):  # type: ignore[no-untyped-def]
        for folder, folders, files in real_walk(top):
            if Path(folder) == staging:
                (staging / "root.pem").unlink()
                staging.rmdir()  # renamed into place by its writer, after the listing
            yield folder, folders, files

    monkeypatch.setattr(container.os, "walk", walk_while_a_rename_lands)
    container.private_home(home)
    assert (home / "kept.txt").stat().st_mode & 0o777 == 0o600
