"""The one error model: what went wrong, in domain words, mapped to HTTP and exit codes elsewhere.

Services raise these; `stillguard.api.errors` turns each kind into an HTTP status once, and
`stillguard.cli.output` turns them into exit codes once. A `code` is the machine-readable name
clients switch on; the message is for a person and never carries paths, SQL or tracebacks.
"""

from __future__ import annotations


class StillguardError(Exception):
    """Base of every error a caller is told about: a stable `code` and a message to act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidInput(StillguardError):
    """The request itself is wrong (a bad option, an unreadable photo): fix it and retry."""


class PayloadTooLarge(InvalidInput):
    """The upload is bigger (in bytes or pixels) than the service accepts."""


class UnsupportedMedia(InvalidInput):
    """The upload is not a kind of file this operation reads."""


class CorruptMedia(InvalidInput):
    """The upload claims a known format but cannot be decoded."""


class Unauthorized(StillguardError):
    """No credentials, or credentials that name no active key."""


class Forbidden(StillguardError):
    """The caller is known but its role does not allow this."""


class NotFound(StillguardError):
    """The thing named does not exist, or is not visible to this caller."""


class Conflict(StillguardError):
    """The request is valid but the current state does not allow it (e.g. not held)."""


class Unavailable(StillguardError):
    """A dependency (database, broker, keys) is down: nothing was changed; retry later."""


class RateLimited(StillguardError):
    """The caller sent more than its quota allows: nothing was changed; retry after `retry_after_s`."""

    def __init__(self, code: str, message: str, *, retry_after_s: int) -> None:
        super().__init__(code, message)
        self.retry_after_s = retry_after_s
