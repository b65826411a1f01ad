"""Face detector evaluation: photos with faces against photos without (issue 12).

    python -m bench.safety_eval --only faces

A photo counts as found when the detector reports at least one face; a face-free photo counts as
a false positive when it reports any. The sets are `samples/faces/with`, and `samples/faces/
without` plus the face-free photos of `samples/eval` and `samples/` (sources in
samples/faces/SOURCES.md). "small faces" pastes each face photo at a quarter of its size into a
face-free landscape: a distant person, derived from the same photos.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PIL import Image

from safety.faces import FaceDetector
from tests.support.samples import REPO_ROOT

FACES_DIR = REPO_ROOT / "samples" / "faces"
# photos of samples/eval with a person in them (the rest of that folder is face-free)
_EVAL_WITH_PEOPLE = {
    "grace-hopper.jpg",
    "cameraman.jpg",
    "bike-riders.jpg",
    "surfer-wave.jpg",
    "aquarium-silhouette.jpg",
}


def face_photos() -> list[Path]:
    """The photos with at least one real face."""
    return sorted((FACES_DIR / "with").glob("*.jpg"))


def face_free_photos() -> list[Path]:
    """Photos without any human face: textures, skies, foliage, objects, landscapes."""
    eval_dir = REPO_ROOT / "samples" / "eval"
    return [
        *sorted((FACES_DIR / "without").glob("*.jpg")),
        *sorted(p for p in eval_dir.glob("*.jpg") if p.name not in _EVAL_WITH_PEOPLE),
        REPO_ROOT / "samples" / "falcon9-dscovr-launch.jpg",
    ]


def _small_face(face: Image.Image, landscape: Image.Image) -> Image.Image:
    """The face photo at a quarter of its size, pasted into the lower middle of a landscape."""
    scene = landscape.copy()
    small = face.resize((max(1, face.width // 4), max(1, face.height // 4)), Image.LANCZOS)
    scene.paste(small, ((scene.width - small.width) // 2, scene.height - small.height - 10))
    return scene


def _rates(found: dict[str, bool], with_faces: set[str]) -> dict[str, Any]:
    tp = sum(found[name] for name in with_faces)
    fp = sum(hit for name, hit in found.items() if name not in with_faces)
    return {
        "with_faces": len(with_faces),
        "without_faces": len(found) - len(with_faces),
        "precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
        "recall": round(tp / len(with_faces), 3) if with_faces else 0.0,
        "missed": sorted(name for name in with_faces if not found[name]),
        "false_positives": sorted(n for n, hit in found.items() if hit and n not in with_faces),
    }


def _margins(detector: FaceDetector, no_face: list[Image.Image]) -> list[dict[str, float]]:
    """Per model (full range, short range): its threshold and the best score on a face-free photo."""
    per_photo = [detector.candidates(photo) for photo in no_face]
    return [
        {
            "min_score": model[0].min_score,
            "best_face_free": round(max(c.best() for c in model), 3),
            "margin": round(model[0].min_score - max(c.best() for c in model), 3),
        }
        for model in zip(*per_photo)
    ]


def face_eval(detector: FaceDetector | None = None) -> dict[str, Any]:
    """Precision, recall and time per photo of the face detector on the evaluation photos."""
    detector = detector or FaceDetector()
    photos = {p.name: Image.open(p).convert("RGB") for p in [*face_photos(), *face_free_photos()]}
    with_faces = {p.name for p in face_photos()}
    landscape = photos["forest-path.jpg"]
    derived = {f"small-{name}": _small_face(photos[name], landscape) for name in sorted(with_faces)}
    detector.find(landscape)  # warm-up: the first call allocates the interpreter's buffers
    found: dict[str, bool] = {}
    seconds = []
    for name, photo in {**photos, **derived}.items():
        start = time.perf_counter()
        found[name] = bool(detector.find(photo))
        seconds.append(time.perf_counter() - start)
    no_face = [photos[p.name] for p in face_free_photos()]
    photos_only = {n: hit for n, hit in found.items() if not n.startswith("small-")}
    small = {n: hit for n, hit in found.items() if n.startswith("small-") or n not in with_faces}
    return {
        "model": detector.model,
        "min_score": detector.min_score,
        "photos": _rates(photos_only, with_faces),
        "small_faces": _rates(small, set(derived)),
        "margins": _margins(detector, no_face),
        "ms_per_photo": round(1000 * sum(seconds) / len(seconds), 1),
        "ms_max": round(1000 * max(seconds), 1),
    }


def people_eval() -> dict[str, Any]:
    """The person signal (safety/people.py) on people whose faces cannot be seen, and the rest."""
    from safety.people import PersonDetector

    detector = PersonDetector()
    sets = {
        "faces_hidden": sorted((FACES_DIR / "people").glob("*.jpg")),
        "with_faces": face_photos(),
        "without_people": face_free_photos(),
    }
    report: dict[str, Any] = {"model": detector.model, "min_score": detector.min_score}
    for name, paths in sets.items():
        start = time.perf_counter()
        found = {p.name: bool(detector.find(Image.open(p))) for p in paths}
        report[name] = {
            "found": sum(found.values()),
            "of": len(found),
            "ms_per_photo": round(1000 * (time.perf_counter() - start) / len(found), 1),
            "hits" if name == "without_people" else "missed": sorted(
                n for n, hit in found.items() if hit == (name == "without_people")
            ),
        }
    return report
