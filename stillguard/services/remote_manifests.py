"""Remote C2PA manifests: fetched only from hosts the operator allows, within a time and a size.

c2pa's own fetching is off (provenance.trust): a file names its manifest's URL, and fetching any
URL an uploader chose would let anyone make the server send requests (server-side request
forgery). With STILLGUARD_REMOTE_MANIFEST_ALLOW set, a URL on one of those hosts is fetched here,
without redirects, and a store over the size limit is not read.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from provenance.errors import RemoteManifestError
from provenance.verify import RemoteFetch

from ..settings import Settings


def remote_fetcher(settings: Settings) -> RemoteFetch | None:
    """The fetch `verify` may use for remote manifests, or None when no host is allowed."""
    allowed = {h.strip().lower() for h in (settings.remote_manifest_allow or "").split(",")}
    allowed.discard("")
    if not allowed:
        return None
    limit, timeout = settings.remote_manifest_max_bytes, settings.remote_manifest_timeout_s

    def fetch(url: str) -> bytes:
        import httpx  # a quarter of a second to import; only a remote manifest needs it

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not (
            parts.netloc.lower() in allowed or (parts.hostname or "").lower() in allowed
        ):
            raise RemoteManifestError(
                url, "its host is not in STILLGUARD_REMOTE_MANIFEST_ALLOW, so it was not fetched"
            )
        body = bytearray()
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as answer:
                if answer.status_code != 200:
                    raise RemoteManifestError(url, f"fetching it answered {answer.status_code}")
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise RemoteManifestError(
                            url, f"it is over STILLGUARD_REMOTE_MANIFEST_MAX_BYTES={limit}"
                        )
        except httpx.HTTPError as exc:
            raise RemoteManifestError(
                url, f"it could not be fetched within {timeout:g} s ({type(exc).__name__})"
            ) from exc
        return bytes(body)

    return fetch
