"""What a stage needs, built once per process: the store, blobs, policy, models and keys.

The one place that wires parts together from settings. Models and keys are expensive, so they
are built lazily on first use and cached; the safety checks are called through this object so
the input gate, the output gate and `check` run the same set of classifiers.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from PIL import Image

from audit.store import AuditStore
from generation import Backend, load_backend
from policies.pack import PolicyPack
from provenance.authority import Authority, published_trust
from provenance.errors import AuthorityError
from provenance.repository import ManifestRepository
from provenance.trust import TrustAnchors
from safety import gates
from safety.age import AgeEstimator
from safety.clip_classifier import ClipClassifier
from safety.clip_sampling import SampledClip
from safety.faces import FaceDetector
from safety.image_classifier import ImageClassifier
from safety.nudenet_detector import NudeNetDetector
from safety.people import PersonDetector
from safety.signals import Signal
from safety.video_checks import ClipReport

from .blobs import BlobStore, open_blob_store
from .errors import Unavailable
from .services.live_config import LiveHashBanks, LivePolicies
from .settings import Settings, SettingsError

T = TypeVar("T")


def worker_identity() -> str:
    """Who holds leases and claims from this process: host, pid and a random tag."""
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class BuiltOnFirstUse(Generic[T]):
    """`deps.NAME`: what the factory `deps.NAME_factory` builds, built once, on first use."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, deps: StageDeps, owner: type | None = None) -> T:
        return cast(T, deps.cached(self.name, getattr(deps, f"{self.name}_factory")))


@dataclass
class StageDeps:
    """Everything a stage needs, built once per process by `build_deps`."""

    store: AuditStore
    blobs: BlobStore
    policies: LivePolicies
    hash_banks: LiveHashBanks
    authority_factory: Callable[[], Authority]
    image_classifier_factory: Callable[[], ImageClassifier]
    prompt_classifier_factory: Callable[[], Any]
    face_detector_factory: Callable[[], FaceDetector | None]
    age_estimator_factory: Callable[[], AgeEstimator | None]
    person_detector_factory: Callable[[], PersonDetector | None]
    clip_classifier_factory: Callable[[], ClipClassifier | None]
    nudenet_factory: Callable[[], NudeNetDetector | None]
    repository_factory: Callable[[], ManifestRepository]
    backend_factory: Callable[[], Backend]
    trust_anchors: Callable[[], TrustAnchors]
    settings: Settings
    worker_id: str = field(default_factory=worker_identity)
    on_progress: Callable[[str, str], None] = lambda job_id, what: None
    _cache: dict[str, Any] = field(default_factory=dict)

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)

    authority = BuiltOnFirstUse[Authority]()
    image_classifier = BuiltOnFirstUse[ImageClassifier]()
    prompt_classifier = BuiltOnFirstUse[Any]()
    face_detector = BuiltOnFirstUse[FaceDetector | None]()
    age_estimator = BuiltOnFirstUse[AgeEstimator | None]()
    person_detector = BuiltOnFirstUse[PersonDetector | None]()
    clip_classifier = BuiltOnFirstUse[ClipClassifier | None]()
    nudenet = BuiltOnFirstUse[NudeNetDetector | None]()
    repository = BuiltOnFirstUse[ManifestRepository]()
    backend = BuiltOnFirstUse[Backend]()

    def cached(self, name: str, factory: Callable[[], Any]) -> Any:
        """Build an expensive dependency (a model, the authority) once, on first use.

        One lock per name: loading a slow model never blocks a request that needs another one.
        """
        if name in self._cache:
            return self._cache[name]
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._cache:
                self._cache[name] = factory()
            return self._cache[name]

    @property
    def policy(self) -> PolicyPack:
        """The default surface's active pack now (follows activations without a restart)."""
        return self.policies.current()

    def input_signals(self, photo: Image.Image | None, prompt: str | None) -> list[Signal]:
        """Every configured input check on a photo and a prompt (the prompt model loads lazily)."""
        return gates.input_signals(
            photo,
            prompt,
            images=self.image_classifier,
            prompts=self.prompt_classifier if prompt else None,
            faces=self.face_detector,
            ages=self.age_estimator,
            people=self.person_detector,
            hashes=self.hash_banks.current(),
            clip=self.clip_classifier,
            nudenet=self.nudenet,
        )

    def output_report(
        self, sampled: SampledClip, approved: list[Signal], photo: Image.Image | None
    ) -> ClipReport:
        """Every configured temporal check on a sampled clip, against the approved input."""
        return gates.output_report(
            sampled,
            images=self.image_classifier,
            approved=approved,
            input_photo=photo,
            hashes=self.hash_banks.current(),
            clip=self.clip_classifier,
            nudenet=self.nudenet,
        )


def private_home(home: Path) -> None:
    """Make HOME its owner's alone (folders 0700, files 0600), and all this process creates.

    HOME holds the encrypted keys and their passphrase file, prompts and key hashes in the audit
    database, and every photo and clip. The umask covers what this process writes from now on
    (SQLite's own files included); the walk tightens what an older version left readable.
    """
    os.umask(0o077)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder, _, files in os.walk(home):
        for path in [Path(folder), *(Path(folder, name) for name in files)]:
            try:
                _tighten(path)
            except FileNotFoundError:
                continue  # another process's atomic write renamed it away after the listing


def _tighten(path: Path) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return
    wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
    if mode & 0o777 != wanted:
        path.chmod(wanted)


def open_store(settings: Settings) -> AuditStore:
    """The audit store, migrated to the current schema."""
    private_home(settings.home)
    store = AuditStore(settings.database_url)
    store.migrate()
    return store


def open_authority(settings: Settings) -> Authority:
    """The signing authority under HOME, created on first use."""
    private_home(settings.home)
    return Authority.open(settings.home, settings.resolve_passphrase(), tsa_url=settings.tsa_url)


def usable_authority(deps: StageDeps) -> Authority:
    """The authority with its private keys opened, or Unavailable saying what an operator must
    fix (a wrong or lost passphrase): checked before work that ends in signing or stamping."""
    try:
        return deps.authority
    except (AuthorityError, SettingsError) as exc:
        raise Unavailable("keys_unavailable", str(exc)) from exc


def _prompt_classifier() -> Any:
    # Imported late: its encoders and lingua's language models are read only by the input gate.
    from safety.prompt_classifier import PromptClassifier

    return PromptClassifier()


def build_deps(settings: Settings, store: AuditStore) -> StageDeps:
    """Stage dependencies for this process; models and keys load lazily on first use."""
    deps = StageDeps(
        store=store,
        blobs=open_blob_store(settings),
        policies=LivePolicies(store, settings),
        hash_banks=LiveHashBanks(store, settings),
        authority_factory=lambda: open_authority(settings),
        image_classifier_factory=lambda: ImageClassifier(threads=2),
        prompt_classifier_factory=_prompt_classifier,
        face_detector_factory=FaceDetector,
        age_estimator_factory=AgeEstimator,
        person_detector_factory=PersonDetector,
        clip_classifier_factory=lambda: ClipClassifier(settings.clip_checkpoint),
        repository_factory=lambda: ManifestRepository(store.engine),
        nudenet_factory=NudeNetDetector,
        backend_factory=lambda: load_backend(settings.diffusers_model),
        # Verifying reads certificates only: a wrong passphrase must not stop it.
        trust_anchors=lambda: published_trust(settings.home) or deps.authority.trust_anchors(),
        settings=settings,
    )
    return deps
