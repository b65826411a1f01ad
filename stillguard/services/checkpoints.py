"""Audit checkpoints: sign the chain head on demand and on a schedule, export, verify.

The audit room keeps the statements and the walk (`audit.checkpoints`); the provenance room
signs and checks (`provenance.checkpoint_signing`); this module joins them to settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from audit.checkpoint_verify import CheckpointedReport, load_anchors, verify_with_checkpoints
from audit.checkpoints import Checkpoint, CheckpointFileError, checkpoint_due, create_checkpoint
from audit.store import AuditStore
from provenance.authority import Authority
from provenance.checkpoint_signing import CheckpointSigner, CheckpointVerifier
from provenance.errors import ProvenanceError

from ..errors import InvalidInput, Unavailable
from ..settings import Settings

log = logging.getLogger(__name__)


def checkpoint_now(store: AuditStore, authority: Authority) -> Checkpoint | None:
    """Sign the chain head now; None when it is already covered (or there are no events)."""
    try:
        return create_checkpoint(store, CheckpointSigner(authority))
    except ProvenanceError as exc:
        raise Unavailable("checkpoint_signing", str(exc)) from exc


def verify_audit(
    store: AuditStore, authority: Authority, anchors: Sequence[Path] = ()
) -> CheckpointedReport:
    """Walk the chain against every stored checkpoint and the exported anchors given."""
    try:
        files = load_anchors(anchors)
        return verify_with_checkpoints(store, CheckpointVerifier(authority.trust_anchors()), files)
    except CheckpointFileError as exc:
        raise InvalidInput("invalid_anchor", str(exc)) from exc


def checkpoint_is_due(store: AuditStore, settings: Settings) -> bool:
    """N events or T seconds (with at least one new event) since the newest checkpoint."""
    due = checkpoint_due(store)
    if due.events_since == 0:
        return False
    if due.events_since >= settings.checkpoint_every_events:
        return True
    return due.seconds_since is None or due.seconds_since >= settings.checkpoint_every_s


class CheckpointScheduler:
    """A daemon thread in `serve` and each worker: signs the head when a checkpoint is due.

    Several processes may run one; checkpoints are written under the append lock and a head
    already covered is skipped, so they never duplicate or fork.
    """

    def __init__(
        self, store: AuditStore, settings: Settings, authority: Callable[[], Authority]
    ) -> None:
        self._store = store
        self._settings = settings
        self._authority = authority
        self._stop = threading.Event()
        poll = min(settings.checkpoint_every_s, 5.0)
        self._thread = threading.Thread(
            target=self._run, args=(poll,), name="stillguard-checkpoints", daemon=True
        )
        self._thread.start()

    def _run(self, poll_s: float) -> None:
        while not self._stop.wait(poll_s):
            try:
                if checkpoint_is_due(self._store, self._settings):
                    checkpoint_now(self._store, self._authority())
            except Exception:  # keep checkpointing through a database blip; it is logged
                log.exception("event=checkpoint.failed")

    def close(self) -> None:
        """Stop the thread (a checkpoint being signed finishes first)."""
        self._stop.set()
        self._thread.join(timeout=30)
