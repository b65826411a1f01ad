"""Real people in the photo: the default policy restricts the job and faces stay still; a pack
that lets people move gives them subtle life (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.store import AuditQuery
from policies.pack import DEFAULT_PATH
from stillguard.container import open_store
from stillguard.pipeline.local import JobOutcome, LocalRunner
from stillguard.services.intake import JobRequest
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLES

PORTRAIT = SAMPLES / "astronaut-eileen-collins.png"
SEEN_FROM_BEHIND = SAMPLES / "faces" / "people" / "child-from-behind.jpg"


def _published(tmp_path: Path, photo: Path, **env: str) -> tuple[JobOutcome, dict[str, Any]]:
    """One job on `photo`, published under settings `env`: its outcome and the payload of its
    clip.generated event."""
    settings = settings_for(tmp_path, **env)
    store = open_store(settings)
    request = JobRequest(photo=photo.read_bytes(), prompt=None, options=SMALL_CLIP, submitter="cli")
    outcome = LocalRunner(settings, store).run(request, tmp_path / "clip.mp4")
    assert outcome.job.status == "published"
    generated = store.events(AuditQuery(job_id=outcome.job.id, kind="clip.generated"))[0]
    return outcome, generated.payload


def test_photo_with_a_face_is_restricted_and_generated_without_face_motion(tmp_path: Path) -> None:
    outcome, generated = _published(tmp_path, PORTRAIT)
    input_decision = outcome.job.decisions[0]
    assert input_decision["action"] == "restrict"
    assert any("faces.count" in reason for reason in input_decision["reasons"])
    faces = next(s for s in outcome.trail.signals if s["category"] == "faces.count")
    assert faces["evaluated"] and '"count": 1' in faces["detail"]
    assert generated["options"]["face_motion"] is False
    # The face sits in the upper middle of this portrait: the label keeps clear of it.
    assert generated["label_corner"] == "bottom-right"
    motions = generated["scene"]["motions"]
    assert any(m["region"] == "faces" and m["kind"] == "held still" for m in motions)
    assert not any(m["region"] == "people" for m in motions)


def test_a_person_whose_face_cannot_be_seen_is_restricted_too(tmp_path: Path) -> None:
    outcome, generated = _published(tmp_path, SEEN_FROM_BEHIND)
    input_decision = outcome.job.decisions[0]
    assert input_decision["action"] == "restrict"
    assert any("people.count" in reason for reason in input_decision["reasons"])
    signals = {s["category"]: s for s in outcome.trail.signals}
    assert signals["faces.count"]["evaluated"] and '"count": 0' in signals["faces.count"]["detail"]
    people = signals["people.count"]
    assert people["evaluated"] and '"count": 1' in people["detail"]
    assert generated["options"]["face_motion"] is False


def test_a_pack_that_lets_people_move_gives_them_subtle_life(tmp_path: Path) -> None:
    pack = tmp_path / "people-move.yaml"
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    for category in ("faces", "people"):
        rule = f"{{id: input.{category}.restrict, category: {category}.count, threshold: 0.1, "
        rule += "action: restrict,"
        assert rule in text
        text = text.replace(rule, rule.replace("action: restrict", "action: label"))
    pack.write_text(text.replace('version: "2026.12.0"', 'version: "people-move"'), "utf-8")
    outcome, generated = _published(tmp_path, PORTRAIT, STILLGUARD_POLICY_PATH=str(pack))
    assert outcome.job.decisions[0]["action"] == "label"
    assert generated["options"]["face_motion"] is True
    people = [m for m in generated["scene"]["motions"] if m["region"] == "people"]
    assert len(people) == 1 and people[0]["count"] == 1


def test_label_goes_to_the_corner_that_covers_no_face() -> None:
    from provenance.label import corner_clear_of

    assert corner_clear_of([]) == "bottom-right"
    assert corner_clear_of([[0.75, 0.8, 0.2, 0.2]]) == "bottom-left"
    assert corner_clear_of([[0.0, 0.8, 1.0, 0.2]]) == "top-right"
