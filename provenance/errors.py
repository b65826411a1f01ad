"""Error types of the provenance package; every message tells the user what to do next."""


class ProvenanceError(Exception):
    """Base error: signing or verification could not be done."""


class UnsupportedMediaError(ProvenanceError):
    """The bytes are not an MP4, JPEG or PNG (or there are no bytes at all)."""


class CorruptMediaError(ProvenanceError):
    """The file claims to be a supported type but its structure is broken (e.g. truncated)."""


class RemoteManifestError(ProvenanceError):
    """The file's manifest store is kept at a URL, which was not (or could not be) fetched."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"the manifest is stored remotely at {url}; {reason}")
        self.url, self.reason = url, reason


class AuthorityError(ProvenanceError):
    """The signing authority cannot be opened: wrong passphrase, missing or corrupt keys."""


class CertificateProfileError(AuthorityError):
    """A certificate would be refused by C2PA validators; the message names the rule it breaks."""
