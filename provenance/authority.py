"""The signing authority: its keys and certificates on disk, signers, time stamps, rotation, trust.

Layout under `home/authority/` (created on first use, keys PKCS#8-encrypted with the passphrase):

    authority.json                  algorithm, the current signing certificate, its predecessors
    root.cert.pem / root.key.pem    claim-signing root CA (the trust anchor verifiers need)
    intermediate.cert.pem / .key.pem
    signing/<id>.cert.pem / .key.pem   end-entity claim signers; rotation adds one
    tsa-root.cert.pem / .key.pem    time-stamp root CA, kept apart from the claim-signing root
    tsa.cert.pem / tsa.key.pem      time-stamping certificate (timeStamping EKU)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pathlib
import shutil
import tempfile
import threading
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenance.atomic import write_atomic
from provenance.certificates import (
    SIGNING_ALGS,
    PrivateKey,
    PublicKey,
    SigningAlg,
    cert_pem,
    check_claim_signing_profile,
    display_name,
    encrypt_key,
    load_certs,
    make_end_entity,
    make_intermediate,
    make_root,
    new_private_key,
)
from provenance.errors import AuthorityError
from provenance.signers import ClipSigner, LocalKeySigner
from provenance.trust import TrustAnchors
from provenance.tsa import LoopbackTSA, TimeStampAuthority, serve_loopback

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
SIGNING_CERT_DAYS = 365
_CA_ALG: SigningAlg = "es256"
_loopback_lock = threading.Lock()
_checkpoint_lock = threading.Lock()
_loopback: dict[pathlib.Path, LoopbackTSA] = {}


@dataclass
class Authority:
    """An opened signing authority. Create or load it with `Authority.open(home, passphrase)`."""

    directory: pathlib.Path
    alg: SigningAlg
    signing_id: str
    root_pem: str
    chain_pem: str
    tsa_root_pem: str
    tsa_url: str | None
    _passphrase: str = field(repr=False)
    _signing_key: PrivateKey = field(repr=False)
    _tsa: TimeStampAuthority = field(repr=False)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        home: pathlib.Path,
        passphrase: str,
        *,
        alg: SigningAlg = "es256",
        tsa_url: str | None = None,
    ) -> Authority:
        """Load the authority under `home/authority/`, creating it on first use.

        `alg` only matters at creation (and rotation). `tsa_url` names an external RFC 3161
        time-stamp authority; without one, signers use this authority's own TSA on loopback.
        """
        if not passphrase:
            raise AuthorityError("a key passphrase is required (set STILLGUARD_KEY_PASSPHRASE)")
        if alg not in SIGNING_ALGS:
            raise AuthorityError(
                f"unsupported signing algorithm {alg!r}; use one of {SIGNING_ALGS}"
            )
        directory = pathlib.Path(home) / "authority"
        if not (directory / "authority.json").exists():
            if directory.exists() and any(directory.iterdir()):
                raise AuthorityError(
                    f"{directory} exists but has no authority.json: the authority is incomplete "
                    "or corrupt; restore it from backup or move it away to create a new one"
                )
            _create(directory, passphrase, alg)
        return cls._load(directory, passphrase, tsa_url)

    @classmethod
    def _load(cls, directory: pathlib.Path, passphrase: str, tsa_url: str | None) -> Authority:
        meta = _read_meta(directory)
        signing_id = meta["current"]
        signing_cert = _read_cert(directory / "signing" / f"{signing_id}.cert.pem")
        signing_key = _read_key(directory / "signing" / f"{signing_id}.key.pem", passphrase)
        intermediate = _read_cert(directory / "intermediate.cert.pem")
        tsa_cert = _read_cert(directory / "tsa.cert.pem")
        tsa_key = _read_key(directory / "tsa.key.pem", passphrase)
        return cls(
            directory=directory,
            alg=meta["alg"],
            signing_id=signing_id,
            root_pem=_root_pem(directory, meta),
            chain_pem=cert_pem(signing_cert) + cert_pem(intermediate),
            tsa_root_pem=cert_pem(_read_cert(directory / "tsa-root.cert.pem")),
            tsa_url=tsa_url,
            _passphrase=passphrase,
            _signing_key=signing_key,
            _tsa=TimeStampAuthority(cert=tsa_cert, key=tsa_key),
        )

    # -- signing -----------------------------------------------------------------------------

    def signer(self, *, time_stamp: bool = True) -> ClipSigner:
        """The current local-key signer; time-stamped by the configured or loopback TSA."""
        url = self.time_stamp_url() if time_stamp else None
        return LocalKeySigner(
            alg=self.alg, chain_pem=self.chain_pem, private_key=self._signing_key, tsa_url=url
        )

    def time_stamp_authority(self) -> TimeStampAuthority:
        """This authority's own TSA, for `stillguard serve` to expose over HTTP."""
        return self._tsa

    def time_stamp_url(self) -> str:
        """The TSA URL signers use: the configured one, or this process's loopback server."""
        if self.tsa_url:
            return self.tsa_url
        with _loopback_lock:
            server = _loopback.get(self.directory)
            if server is None:
                server = serve_loopback(self._tsa)
                _loopback[self.directory] = server
            return server.url

    @property
    def signing_certificate(self) -> x509.Certificate:
        """The current claim-signing certificate."""
        return load_certs(self.chain_pem)[0]

    @property
    def signer_subject(self) -> str:
        """Subject of the current signing certificate, as verify reports name it."""
        return display_name(self.signing_certificate.subject)

    def checkpoint_credentials(self) -> tuple[PrivateKey, str]:
        """The key and chain (leaf + intermediate PEM) that sign audit checkpoints.

        Its certificate names one critical EKU, audit checkpoint signing, so it cannot sign
        clips and a clip signer cannot sign checkpoints. Issued on first use and kept beside
        the other certificates as `checkpoint.cert.pem` / `checkpoint.key.pem`.
        """
        cert_path = self.directory / "checkpoint.cert.pem"
        key_path = self.directory / "checkpoint.key.pem"
        with _checkpoint_lock:
            if not cert_path.exists():
                intermediate = _read_cert(self.directory / "intermediate.cert.pem")
                intermediate_key = _read_key(
                    self.directory / "intermediate.key.pem", self._passphrase
                )
                key = new_private_key(_CA_ALG)
                cert = make_end_entity(
                    key,
                    "Stillguard Audit Checkpoint Signer",
                    intermediate,
                    intermediate_key,
                    purpose="audit_checkpoint",
                    days=365 * 10,
                )
                _write_pair(self.directory, "checkpoint", cert, key, self._passphrase)
        intermediate_pem = cert_pem(_read_cert(self.directory / "intermediate.cert.pem"))
        chain = cert_pem(_read_cert(cert_path)) + intermediate_pem
        return _read_key(key_path, self._passphrase), chain

    # -- trust and rotation ------------------------------------------------------------------

    def trust_anchors(self) -> TrustAnchors:
        """The roots a verifier needs: claim-signer roots and, separately, time-stamp roots."""
        return TrustAnchors(signers=self.root_pem, tsa=self.tsa_root_pem)

    def export_trust(self, directory: pathlib.Path) -> dict[str, pathlib.Path]:
        """Write `signers.pem` and `tsa.pem` (trust anchors for verifiers) into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"signers": directory / "signers.pem", "tsa": directory / "tsa.pem"}
        write_atomic(paths["signers"], self.root_pem.encode("ascii"), mode=0o644)
        write_atomic(paths["tsa"], self.tsa_root_pem.encode("ascii"), mode=0o644)
        return paths

    def rotate(self, *, alg: SigningAlg | None = None, days: float = SIGNING_CERT_DAYS) -> str:
        """Issue a new signing certificate and key and make it current; returns its id.

        Old clips stay verifiable: the root and intermediate are unchanged and every signature
        carries a time stamp, so a retired (even expired) signing certificate still validates.
        """
        new_alg = alg or self.alg
        if new_alg not in SIGNING_ALGS:
            raise AuthorityError(f"unsupported signing algorithm {new_alg!r}")
        intermediate = _read_cert(self.directory / "intermediate.cert.pem")
        intermediate_key = _read_key(self.directory / "intermediate.key.pem", self._passphrase)
        meta = _read_meta(self.directory)
        signing_id = f"signing-{len(meta['history']) + 1:04d}"
        _issue_signing_cert(
            self.directory,
            signing_id,
            new_alg,
            intermediate,
            intermediate_key,
            self._passphrase,
            days=days,
        )
        meta["history"].append(
            {"id": signing_id, "alg": new_alg, "issued": dt.datetime.now(dt.UTC).isoformat()}
        )
        meta["current"] = signing_id
        meta["alg"] = new_alg
        write_atomic(self.directory / "authority.json", json.dumps(meta, indent=2).encode())
        log.info("event=authority.rotated signing_id=%s alg=%s", signing_id, new_alg)
        reloaded = Authority._load(self.directory, self._passphrase, self.tsa_url)
        self.__dict__.update(reloaded.__dict__)
        return signing_id

    def certify_external_key(
        self,
        public_key: PublicKey,
        *,
        name: str = "Stillguard External Signer",
        days: float = SIGNING_CERT_DAYS,
    ) -> str:
        """Issue a claim-signing certificate for a key held elsewhere (KMS/HSM); returns its chain.

        Pair the chain with a CallbackSigner whose callback asks the KMS to sign: the private
        key never enters this process.
        """
        intermediate = _read_cert(self.directory / "intermediate.cert.pem")
        intermediate_key = _read_key(self.directory / "intermediate.key.pem", self._passphrase)
        cert = make_end_entity(
            public_key, name, intermediate, intermediate_key, purpose="claim_signing", days=days
        )
        check_claim_signing_profile(cert)
        return cert_pem(cert) + cert_pem(intermediate)

    def describe(self) -> dict:
        """What `stillguard authority show` prints: algorithm, certificates and their validity."""
        meta = _read_meta(self.directory)
        chain = load_certs(self.chain_pem)
        return {
            "directory": str(self.directory),
            "alg": self.alg,
            "signing_id": self.signing_id,
            "signer": display_name(chain[0].subject),
            "signer_not_after": chain[0].not_valid_after_utc.isoformat(),
            "intermediate": display_name(chain[1].subject),
            "roots": [display_name(c.subject) for c in load_certs(self.root_pem)],
            "tsa_roots": [display_name(c.subject) for c in load_certs(self.tsa_root_pem)],
            "tsa_url": self.tsa_url or "loopback",
            "history": meta["history"],
        }


# -- files -----------------------------------------------------------------------------------


def _create(directory: pathlib.Path, passphrase: str, alg: SigningAlg) -> None:
    """Build the whole hierarchy in a temporary folder, then move it into place in one step."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".authority-", dir=directory.parent))
    try:
        root_key = new_private_key(_CA_ALG)
        root = make_root(root_key, "Stillguard Root CA")
        intermediate_key = new_private_key(_CA_ALG)
        intermediate = make_intermediate(intermediate_key, "Stillguard Signing CA", root, root_key)
        tsa_root_key = new_private_key(_CA_ALG)
        tsa_root = make_root(tsa_root_key, "Stillguard Time-Stamp Root CA")
        tsa_key = new_private_key(_CA_ALG)
        tsa_cert = make_end_entity(
            tsa_key,
            "Stillguard Time-Stamp Authority",
            tsa_root,
            tsa_root_key,
            purpose="time_stamping",
            days=365 * 10,
        )
        for name, cert, key in [
            ("root", root, root_key),
            ("intermediate", intermediate, intermediate_key),
            ("tsa-root", tsa_root, tsa_root_key),
            ("tsa", tsa_cert, tsa_key),
        ]:
            _write_pair(staging, name, cert, key, passphrase)
        (staging / "signing").mkdir()
        _issue_signing_cert(
            staging, "signing-0001", alg, intermediate, intermediate_key, passphrase
        )
        meta = {
            "format": FORMAT_VERSION,
            "alg": alg,
            "current": "signing-0001",
            "roots": ["root.cert.pem"],
            "history": [
                {"id": "signing-0001", "alg": alg, "issued": dt.datetime.now(dt.UTC).isoformat()}
            ],
        }
        write_atomic(staging / "authority.json", json.dumps(meta, indent=2).encode())
        try:
            os.rename(staging, directory)
        except OSError:
            if not (directory / "authority.json").exists():
                raise
            # Another process created it first: use theirs.
        else:
            log.info("event=authority.created directory=%s alg=%s", directory, alg)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _issue_signing_cert(
    directory: pathlib.Path,
    signing_id: str,
    alg: SigningAlg,
    intermediate: x509.Certificate,
    intermediate_key: PrivateKey,
    passphrase: str,
    *,
    days: float = SIGNING_CERT_DAYS,
) -> None:
    key = new_private_key(alg)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    cert = make_end_entity(
        key,
        f"Stillguard Content Signer {signing_id} {stamp}",
        intermediate,
        intermediate_key,
        purpose="claim_signing",
        days=days,
    )
    check_claim_signing_profile(cert)
    _write_pair(directory / "signing", signing_id, cert, key, passphrase)


def _write_pair(
    directory: pathlib.Path, name: str, cert: x509.Certificate, key: PrivateKey, passphrase: str
) -> None:
    write_atomic(directory / f"{name}.key.pem", encrypt_key(key, passphrase), mode=0o600)
    # Private like all of HOME; export_trust writes the roots a verifier needs elsewhere.
    write_atomic(directory / f"{name}.cert.pem", cert_pem(cert).encode("ascii"), mode=0o600)


def published_trust(home: pathlib.Path) -> TrustAnchors | None:
    """The authority's trust anchors from its certificates alone, no private key (so no
    passphrase) needed: what a verifier uses. None when no authority was created under `home`."""
    directory = pathlib.Path(home) / "authority"
    if not (directory / "authority.json").exists():
        return None
    return TrustAnchors(
        signers=_root_pem(directory, _read_meta(directory)),
        tsa=cert_pem(_read_cert(directory / "tsa-root.cert.pem")),
    )


def _root_pem(directory: pathlib.Path, meta: dict) -> str:
    return "".join(
        cert_pem(_read_cert(directory / name)) for name in meta.get("roots", ["root.cert.pem"])
    )


def _read_meta(directory: pathlib.Path) -> dict:
    try:
        meta = json.loads((directory / "authority.json").read_text())
        if meta.get("format") != FORMAT_VERSION or "current" not in meta:
            raise ValueError("unknown format")
        return meta
    except (OSError, ValueError) as error:
        raise AuthorityError(
            f"cannot read {directory / 'authority.json'} ({error}); restore the authority folder"
        ) from error


def _read_cert(path: pathlib.Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        raise AuthorityError(f"certificate {path} is missing or corrupt ({error})") from error


def _read_key(path: pathlib.Path, passphrase: str) -> PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AuthorityError(f"private key {path} is missing ({error.strerror})") from error
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
    except (ValueError, TypeError) as error:
        if "password" in str(error).lower() or "decrypt" in str(error).lower():
            raise AuthorityError(
                "wrong key passphrase: the authority's private keys cannot be decrypted "
                "(check STILLGUARD_KEY_PASSPHRASE)"
            ) from error
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data:
            # About 1 wrong passphrase in 256 decrypts to garbage that passes the padding check
            # and then fails as malformed key data: indistinguishable from a damaged file.
            raise AuthorityError(
                f"private key {path} cannot be opened: the key passphrase is wrong or the file "
                "is corrupt (check STILLGUARD_KEY_PASSPHRASE)"
            ) from error
        raise AuthorityError(f"private key {path} is corrupt ({error})") from error
    return key  # type: ignore[return-value]
