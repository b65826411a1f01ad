"""Completion webhooks: where a job reports its final state, and how receivers trust the call.

A submitting service registers a URL for its key (or names one per job). When the job ends,
Stillguard POSTs its final state there, signed with HMAC-SHA256 over the delivery id, a
timestamp and the body, so the receiver can check it came from us and refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from audit.store import AuditStore

from ..errors import InvalidInput
from ..settings import Settings

WEBHOOK_CHANNEL = "stillguard.webhooks"  # an outbox channel the webhook sender owns, not a topic
MAX_URL_CHARS = 2048
SIGNATURE_HEADER = "Stillguard-Webhook-Signature"
TIMESTAMP_HEADER = "Stillguard-Webhook-Timestamp"
ID_HEADER = "Stillguard-Webhook-Id"
CLOUD_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)


def signing_secret(settings: Settings, key_id: str) -> str:
    """The secret a key's webhooks are signed with, derived from the service's key passphrase.

    Every process derives the same one, so nothing more is stored; rotating the passphrase
    rotates every webhook secret.
    """
    master = hashlib.sha256(
        b"stillguard webhook signing\x00" + settings.resolve_passphrase().encode()
    )
    return "whsec_" + hmac.new(master.digest(), key_id.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for one delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, *, tolerance_s: float = 300.0
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent (no replays)."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
        expected = sign(secret, headers[ID_HEADER], timestamp, body)
        given = headers[SIGNATURE_HEADER]
    except (KeyError, ValueError):
        return False
    fresh = abs(time.time() - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, given)


def _allowed(host: str, addresses: list[str], settings: Settings) -> bool:
    allowed = [a.strip() for a in (settings.webhook_allow or "").split(",") if a.strip()]
    if host in allowed:
        return True
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if any(ip in ipaddress.ip_network(a, strict=False) for a in allowed if _is_network(a)):
            continue
        if not ip.is_global or any(ip in net for net in CLOUD_METADATA):
            return False
    return True


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def check_callback_url(url: str, settings: Settings) -> str:
    """Refuse URLs a webhook must never reach: not http(s), or loopback, link-local, private or
    cloud-metadata addresses (unless STILLGUARD_WEBHOOK_ALLOW names the host or network)."""
    if len(url) > MAX_URL_CHARS or any(ord(c) < 33 for c in url):
        raise InvalidInput(
            "invalid_callback_url", "a callback URL is one line of at most 2048 characters"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "invalid_callback_url", "a callback URL is http:// or https:// with a host"
        )
    if parts.username or parts.password:
        raise InvalidInput("invalid_callback_url", "a callback URL carries no credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise InvalidInput("invalid_callback_url", f"cannot resolve {parts.hostname}") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not _allowed(parts.hostname, addresses, settings):
        raise InvalidInput(
            "invalid_callback_url",
            f"{parts.hostname} resolves to a loopback, private, link-local or metadata address",
        )
    return url


def register_webhook(store: AuditStore, settings: Settings, key_id: str, url: str) -> str:
    """Set the URL a key's jobs report to; returns the secret its deliveries are signed with."""
    store.set_webhook(key_id, check_callback_url(url, settings))
    return signing_secret(settings, key_id)
