"""Sending completion webhooks from the outbox: signed, retried with backoff, then dead-lettered.

Deliveries are outbox rows on their own channel, written in the same commit as the job's end,
and sent by their own loop, so a slow or dead receiver never holds up a stage.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from audit.records import JobRecord, OutboxRecord, OutgoingMessage
from audit.store import AuditQuery, AuditStore
from streams.backend import backoff_s, describe_error

from ..container import StageDeps
from ..errors import InvalidInput
from ..metrics import DEAD_LETTERS
from ..services.webhooks import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_CHANNEL,
    check_callback_url,
    sign,
    signing_secret,
)
from .polling import poll_until_stopped

if TYPE_CHECKING:
    import httpx  # imported when a sender is made: every job records deliveries, few send them

log = logging.getLogger("stillguard.webhooks")
TIMEOUT_S = 5.0
MAX_BACKOFF_S = 300.0


def webhook_delivery(store: AuditStore, job: JobRecord, status: str) -> list[OutgoingMessage]:
    """The delivery to send when `job` ends `status`, if the job or its key has a webhook."""
    url = job.callback_url or store.webhook_of(job.submitter)
    if url is None:
        return []
    return [OutgoingMessage(WEBHOOK_CHANNEL, job.id, {"url": url, "status": status})]


def final_state(deps: StageDeps, job_id: str, status: str) -> dict[str, Any]:
    """What the receiver learns: the status, and the video and its verification, or the
    statement of reasons, or the failure's reason."""
    job = deps.store.get_job(job_id)
    body: dict[str, Any] = {"job_id": job_id, "status": status}
    if job is None:
        return body
    if status == "published":
        published = deps.store.events(AuditQuery(job_id=job_id, kind="published", limit=1))
        payload = published[0].payload if published else {}
        body["video_url"] = f"{deps.settings.public_url.rstrip('/')}/v1/jobs/{job_id}/video"
        body["verify"] = {
            "status": payload.get("verify_status"),
            "manifest_label": payload.get("manifest_label"),
            "clip_id": payload.get("clip_id"),
        }
    elif status == "refused":
        body["statement_of_reasons"] = [
            {k: d.get(k) for k in ("stage", "action", "reasons", "policy_version", "decision_id")}
            for d in job.decisions
            if d.get("action") == "block"
        ]
    else:
        body["reason"] = job.error
    return body


class WebhookSender:
    """Claims webhook deliveries and POSTs them; 2xx is delivered, anything else is retried."""

    def __init__(self, deps: StageDeps, client: httpx.Client | None = None) -> None:
        import httpx

        self.deps = deps
        self._client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self.wake = threading.Event()

    def run_once(self) -> int:
        """Send every due delivery once; returns how many were tried."""
        import httpx

        outbox = self.deps.store.outbox
        owner = self.deps.worker_id
        rows = outbox.claim(owner, lease_s=TIMEOUT_S * 4, limit=16, topics=[WEBHOOK_CHANNEL])
        for row in rows:
            try:
                self._send(row)
            except (httpx.HTTPError, InvalidInput, OSError) as exc:
                self._failed(row, describe_error(exc))
                continue
            outbox.complete(row.id, owner)
        return len(rows)

    def _send(self, row: OutboxRecord) -> None:
        url = check_callback_url(row.payload["url"], self.deps.settings)  # DNS may have changed
        job = self.deps.store.get_job(row.job_id)
        key_id = job.submitter if job else ""
        body = json.dumps(final_state(self.deps, row.job_id, row.payload["status"])).encode()
        delivery_id = f"{row.job_id}.{row.payload['status']}"
        timestamp = int(time.time())
        secret = signing_secret(self.deps.settings, key_id)
        headers = {
            "content-type": "application/json",
            ID_HEADER: delivery_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, delivery_id, timestamp, body),
        }
        answer = self._client.post(url, content=body, headers=headers)
        import httpx

        if not 200 <= answer.status_code < 300:
            raise httpx.HTTPStatusError(
                f"receiver answered {answer.status_code}", request=answer.request, response=answer
            )

    def _failed(self, row: OutboxRecord, error: str) -> None:
        outbox = self.deps.store.outbox
        if row.attempts >= self.deps.settings.webhook_max_attempts:
            outbox.bury(row.id, error=error)
            DEAD_LETTERS.labels(topic=WEBHOOK_CHANNEL).inc()
            log.error(
                "event=webhook-dead job_id=%s attempts=%d error=%s", row.job_id, row.attempts, error
            )
            return
        delay = backoff_s(row.attempts, first_s=1.0, max_s=MAX_BACKOFF_S)
        outbox.retry_later(row.id, self.deps.worker_id, error=error, delay_s=delay)
        log.warning(
            "event=webhook-retry job_id=%s attempt=%d error=%s", row.job_id, row.attempts, error
        )

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set."""
        poll_until_stopped(self.run_once, self.wake, stop, failure_event="webhook-sender-failed")
