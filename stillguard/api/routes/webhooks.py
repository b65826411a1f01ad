"""Routes for submitters: the completion webhook of their key."""

from __future__ import annotations

from fastapi import APIRouter

from ...services.webhooks import register_webhook
from ..deps import ServicesDep, SubmitterDep
from ..errors import error_answers
from ..schemas import WebhookRegistered, WebhookRequest, WebhookView

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.put(
    "/webhook", summary="Register the key's webhook", responses=error_answers(400, 401, 403)
)
def put_webhook(body: WebhookRequest, who: SubmitterDep, svc: ServicesDep) -> WebhookRegistered:
    """Where this key's jobs POST their final state; the answer carries the signing secret."""
    secret = register_webhook(svc.store, svc.settings, who.key_id, body.url)
    return WebhookRegistered(url=body.url, secret=secret)


@router.get("/webhook", summary="The key's webhook", responses=error_answers(401, 403))
def get_webhook(who: SubmitterDep, svc: ServicesDep) -> WebhookView:
    """The URL this key's jobs report to, or null."""
    return WebhookView(url=svc.store.webhook_of(who.key_id))


@router.delete("/webhook", summary="Remove the key's webhook", responses=error_answers(401, 403))
def delete_webhook(who: SubmitterDep, svc: ServicesDep) -> WebhookView:
    """Stop reporting; polling `GET /v1/jobs/{id}` always works."""
    svc.store.set_webhook(who.key_id, None)
    return WebhookView(url=None)
