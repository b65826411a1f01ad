"""The whole journey through the CLI: one photo in, a moderated, labelled, signed clip out."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from generation.motion_prompt import parse_motion_prompt
from stillguard.cli import main
from tests.support.journey import SMALL_CLIP_ARGS, giant_png_header
from tests.support.samples import SAMPLE_PHOTO


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stillguard-home")


@pytest.fixture(autouse=True)
def _env(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    monkeypatch.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("STILLGUARD_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("STILLGUARD_DATABASE_URL", raising=False)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr().out.strip()
    return code, json.loads(out) if out else {}


@pytest.fixture(scope="module")
def published(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One published job, shared by the tests that inspect its clip and audit trail."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("out") / "clip.mp4"
    mp = pytest.MonkeyPatch()
    mp.setenv("STILLGUARD_HOME", str(home))
    mp.setenv("STILLGUARD_KEY_PASSPHRASE", "test-passphrase")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(
            [
                "run",
                str(SAMPLE_PHOTO),
                "--out",
                str(out),
                "--prompt",
                "clouds drifting over the sea, gentle waves",
                *SMALL_CLIP_ARGS,
                "--json",
            ]
        )
    mp.undo()
    report = json.loads(buffer.getvalue())
    assert code == 0, report
    return report


def test_run_publishes_a_signed_labelled_clip_with_both_decisions(published: dict) -> None:
    assert published["status"] == "published"
    assert [d["stage"] for d in published["decisions"]] == ["input", "output"]
    assert all(
        d["action"] in ("allow", "label") and d["policy_version"] for d in published["decisions"]
    )
    out = Path(published["output"])
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio, "the clip carries an ambient soundtrack"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 16 and frames[0].shape == (108, 192, 3)
    assert not np.array_equal(frames[0], frames[-1]), "the photo moves"
    stages_with_signals = {s["stage"] for s in published["signals"]}
    assert stages_with_signals == {"input", "output"}
    categories = {s["category"] for s in published["signals"]}
    assert {"nsfw", "prompt.sexual", "flash.general", "flash.red"} <= categories
    assert isinstance(published["segments"], list)
    for stage in ("generation", "encode_and_scan", "input_gate", "output_gate", "sign", "audit"):
        assert published["timings_ms"][stage] > 0


def test_verify_reports_valid_ai_generated_clip(published: dict, capsys) -> None:
    code, report = run_json(capsys, "verify", published["output"], "--json")
    assert code == 0
    assert report["status"] == "valid" and report["ai_generated"] is True
    output_decision = published["decisions"][1]
    assert report["decision_id"] == output_decision["decision_id"]
    assert report["recovered_from"] is None and report["signer"]


def test_verify_reports_tampered_after_one_media_byte_changes(
    published: dict, tmp_path, capsys
) -> None:
    data = bytearray(Path(published["output"]).read_bytes())
    mdat = data.index(b"mdat")
    data[mdat + 200] ^= 0xFF
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    code, report = run_json(capsys, "verify", str(tampered), "--json")
    assert code == 1 and report["status"] == "tampered"


def _reencode(source: str, copy: Path) -> None:
    with av.open(source) as src, av.open(str(copy), "w") as dst:
        stream = dst.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 192, 108, "yuv420p"
        for frame in src.decode(video=0):
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)


def test_reencoded_copy_has_no_manifest_and_our_registry_recovers_it(
    published: dict, home: Path, tmp_path, capsys, monkeypatch
) -> None:
    copy = tmp_path / "reencoded.mp4"
    _reencode(published["output"], copy)
    # Anyone without our manifest registry sees a file with no manifest at all.
    monkeypatch.setenv("STILLGUARD_HOME", str(tmp_path / "stranger"))
    code, report = run_json(capsys, "verify", str(copy), "--json")
    assert code == 1 and report["status"] == "no_manifest" and report["ai_generated"] is False
    # The authority that made it recovers the original manifest from its registry.
    monkeypatch.setenv("STILLGUARD_HOME", str(home))
    code, report = run_json(capsys, "verify", str(copy), "--json")
    assert code == 1 and report["status"] == "recovered"
    assert report["recovered_from"] in ("watermark", "fingerprint")
    assert report["original_status"] == "valid" and report["ai_generated"] is True
    assert report["job_id"] == published["job_id"]


def test_audit_query_returns_one_event_per_stage_decision_in_a_linked_chain(
    published: dict, capsys
) -> None:
    code, result = run_json(capsys, "audit", "query", "--job", published["job_id"], "--json")
    assert code == 0
    kinds = [(e["stage"], e["kind"]) for e in result["events"]]
    assert kinds == [
        ("intake", "job.created"),
        ("input", "decision"),
        ("generation", "clip.generated"),
        ("output", "decision"),
        ("provenance", "published"),
    ]
    decision_events = [e for e in result["events"] if e["kind"] == "decision"]
    assert all(
        e["signals"] and e["policy_version"] and e["reasons"] is not None for e in decision_events
    )
    code, chain = run_json(capsys, "audit", "verify", "--json")
    assert code == 0 and chain["intact"] is True and chain["checked"] >= 5


def test_run_prompt_steers_motion_and_json_and_audit_record_the_parsed_motion(
    tmp_path: Path, capsys
) -> None:
    expected = parse_motion_prompt("clouds drifting left").to_dict()
    code, report = run_json(
        capsys,
        "run",
        str(SAMPLE_PHOTO),
        "--out",
        str(tmp_path / "left.mp4"),
        "--prompt",
        "clouds drifting left",
        *SMALL_CLIP_ARGS,
        "--json",
    )
    assert code == 0 and report["status"] == "published"
    assert report["motion_plan"] == expected and expected["sky_direction"] == -1
    code, result = run_json(capsys, "audit", "query", "--job", report["job_id"], "--json")
    generated = next(e for e in result["events"] if e["kind"] == "clip.generated")
    assert generated["payload"]["options"]["motion_prompt"] == "clouds drifting left"
    assert generated["payload"]["scene"]["motion_prompt"] == expected


@pytest.mark.parametrize(
    ("name", "content", "code_word"),
    [
        ("empty.jpg", b"", "empty_image"),
        ("noise.bin", bytes(range(256)) * 40, "unsupported_media_type"),
        ("garbled.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40, "corrupt_image"),
        ("notes.png", b"just some text, not an image\n" * 20, "unsupported_media_type"),
        ("bomb.png", giant_png_header(), "image_too_large"),
    ],
)
def test_bad_photos_exit_2_with_a_reason_and_an_audit_event(
    name: str, content: bytes, code_word: str, tmp_path: Path, capsys
) -> None:
    photo = tmp_path / name
    photo.write_bytes(content)
    code, report = run_json(capsys, "run", str(photo), "--out", str(tmp_path / "o.mp4"), "--json")
    assert code == 2 and code_word in report["error"]["message"]
    assert not (tmp_path / "o.mp4").exists()
    _, audit = run_json(
        capsys,
        "audit",
        "query",
        "--stage",
        "intake",
        "--action",
        "reject",
        "--limit",
        "1000",
        "--json",
    )
    assert any(code_word in " ".join(e["reasons"]) for e in audit["events"])


def test_truncated_photo_is_refused(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "cut.jpg"
    photo.write_bytes(SAMPLE_PHOTO.read_bytes()[:3000])
    code, report = run_json(capsys, "run", str(photo), "--json")
    assert code == 2 and "corrupt_image" in report["error"]["message"]


def test_overlong_prompt_and_missing_output_directory_exit_2(tmp_path: Path, capsys) -> None:
    code, report = run_json(capsys, "run", str(SAMPLE_PHOTO), "--prompt", "x" * 2001, "--json")
    assert code == 2 and "prompt" in report["error"]["message"]
    code, report = run_json(
        capsys, "run", str(SAMPLE_PHOTO), "--out", str(tmp_path / "missing" / "clip.mp4"), "--json"
    )
    assert code == 2 and "does not exist" in report["error"]["message"]


def test_variations_are_separate_moderated_jobs_with_their_own_clips(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "alive.mp4"
    code, report = run_json(
        capsys, "run", str(SAMPLE_PHOTO), "--out", str(out), "--variations", "2", *SMALL_CLIP_ARGS,
        "--json",
    )  # fmt: skip
    assert code == 0
    variations = report["variations"]
    assert [v["status"] for v in variations] == ["published", "published"]
    assert len({v["job_id"] for v in variations}) == 2
    first, second = (Path(v["output"]) for v in variations)
    assert first.name == "alive-1.mp4" and second.name == "alive-2.mp4"
    assert first.read_bytes() != second.read_bytes()  # seeds 7 and 8


def test_extend_makes_a_longer_signed_clip_of_a_published_job(
    published: dict, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "longer.mp4"
    code, report = run_json(
        capsys, "extend", published["job_id"], "--duration", "3", "--out", str(out), "--json"
    )
    assert code == 0 and report["status"] == "published"
    assert report["extends"] == published["job_id"] and report["job_id"] != published["job_id"]
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24  # 3 s at 8 fps
    code, verified = run_json(capsys, "verify", str(out), "--json")
    assert code == 0 and verified["status"] == "valid"
    capsys.readouterr()
    assert main(["extend", published["job_id"], "--duration", "1", "--out", str(out)]) == 2
    assert "over the clip's 2 s" in capsys.readouterr().err
