"""One settings object, read from `STILLGUARD_*` environment variables at the edge and passed in.

pydantic-settings parses and checks every value, so a bad one is a one-line error that names
the variable (`SettingsError`) instead of a traceback from deep inside a command.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "STILLGUARD_"
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
HIDDEN_FIELDS = ("database_url", "key_passphrase", "blob_secret_access_key", "console_secret")
# S3 bucket names (3-63 lowercase letters, digits, dots, hyphens) and a plain key prefix.
_BLOB_URL = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*))?/?$"
)


class SettingsError(ValueError):
    """A `STILLGUARD_*` variable holds a value Stillguard cannot use; the text names it."""


def _sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'audit.sqlite3'}"


class Settings(BaseSettings):
    """Where Stillguard keeps its state and which services it talks to."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="ignore"
    )

    home: Path = Field(Path("./.stillguard"), description="state: SQLite, blobs, keys")
    database_url: str = Field("", repr=False, description="may carry a password")
    kafka_bootstrap: str | None = None
    key_passphrase: str | None = Field(None, repr=False)
    policy_path: Path | None = None
    tsa_url: str | None = None
    clip_checkpoint: Path | None = None
    diffusers_model: Path | None = None
    hash_banks: Path | None = Field(None, description="folder of PDQ bank files")
    max_upload_bytes: int = Field(DEFAULT_MAX_UPLOAD_BYTES, gt=0)
    recovery_bound_s: float = Field(
        120.0, gt=0, description="after a crash, every job is handed on or ends within this"
    )
    # Clips from strangers (check, verify) are decoded only within these; see services/media_limits.
    max_clip_seconds: float = Field(60.0, gt=0, description="longest clip decoded")
    max_clip_frames: int = Field(1800, ge=1, description="most frames decoded from one clip")
    max_frame_pixels: int = Field(3840 * 2160, ge=1, description="largest frame decoded (4K)")
    max_decoded_pixels: int = Field(
        120_000_000, ge=1, description="all frames of one clip together (360 MB as RGB)"
    )
    remote_manifest_allow: str | None = Field(
        None, description="hosts (host or host:port, comma-separated) remote manifests come from"
    )
    remote_manifest_timeout_s: float = Field(5.0, gt=0, le=60)
    remote_manifest_max_bytes: int = Field(4 * 1024 * 1024, ge=1)
    max_attempts: int = Field(3, ge=1, description="tries of one stage before the job fails")
    stage_threads: int = Field(
        2, ge=1, le=16, description="jobs embedded `serve` works on at once (their stages overlap)"
    )
    retention_days: float | None = Field(
        None, gt=0, description="photos and signed clips of ended jobs are deleted after this"
    )
    public_url: str = Field("http://127.0.0.1:8080", description="how clients reach the API")
    webhook_allow: str | None = Field(
        None, description="hosts or networks webhooks may reach even if private (tests)"
    )
    webhook_max_attempts: int = Field(6, ge=1, description="deliveries tried before a dead letter")
    log_format: Literal["text", "json"] = "text"
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP traces endpoint; off if unset")
    blob_url: str | None = Field(None, description="s3://bucket/prefix; default: HOME/blobs")
    blob_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph)")
    blob_public_endpoint_url: str | None = Field(
        None, description="endpoint clients reach for presigned downloads, if not the one above"
    )
    blob_region: str = "us-east-1"
    blob_access_key_id: str | None = Field(None, description="default: the AWS credential chain")
    blob_secret_access_key: SecretStr | None = Field(None, repr=False)
    blob_max_attempts: int = Field(4, ge=1, description="tries per request, with backoff")
    blob_connect_timeout_s: float = Field(5.0, gt=0)
    blob_read_timeout_s: float = Field(60.0, gt=0)
    blob_url_ttl_s: int = Field(300, ge=1, le=604800, description="presigned download lifetime")

    @field_validator("blob_url")
    @classmethod
    def _check_blob_url(cls, value: str | None) -> str | None:
        if value is not None and not _BLOB_URL.fullmatch(value):
            raise ValueError("expected s3://bucket or s3://bucket/prefix")
        if value is not None and {".", ".."} & set(value.split("/")):
            raise ValueError("the prefix may not contain '.' or '..' segments")
        return value

    console_session_s: int = Field(
        900, ge=1, le=86400, description="how long a reviewer console sign-in lasts"
    )
    console_secret: SecretStr | None = Field(
        None, repr=False, description="signs console sessions; default: random per process"
    )
    appeal_window_days: float = Field(
        30,
        ge=0,
        description="a refusal may be appealed this long; an output refusal's clip is kept",
    )
    review_two_person_rule: bool = Field(
        True, description="overturning an automated block on appeal needs two reviewers"
    )
    checkpoint_every_events: int = Field(
        1000, ge=1, description="sign the audit chain head after this many new events"
    )
    checkpoint_every_s: float = Field(
        300.0, gt=0, description="... or after this many seconds with at least one new event"
    )

    quota_per_minute: int = Field(
        30, ge=1, description="jobs one API key may submit in a minute; more answer 429"
    )
    quota_per_day: int = Field(
        2000, ge=1, description="jobs one API key may submit in a day; more answer 429"
    )
    history_retention_days: float = Field(
        7,
        ge=1,
        description="submission history (for the abuse signals) kept this long; at least the "
        "signals' longest look back, a day",
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve_home(cls, values: Any) -> Any:
        # HOME is absolute from here on, and the default database lives under it.
        if isinstance(values, dict):
            home = Path(values.get("home") or "./.stillguard").expanduser().resolve()
            values = {**values, "home": home}
            if not values.get("database_url"):
                values["database_url"] = _sqlite_url(home)
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `STILLGUARD_*` variables (the process's, or `environ`'s) with defaults."""
        env = os.environ if environ is None else environ
        values = {
            name[len(ENV_PREFIX) :].lower(): value
            for name, value in env.items()
            if name.startswith(ENV_PREFIX) and value != ""
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first.get("loc") else "?"
            variable = ENV_PREFIX + field.upper()
            shown = "(hidden)" if field in HIDDEN_FIELDS else repr(values.get(field))
            raise SettingsError(f"{variable}={shown}: {first['msg']}") from None

    @property
    def lease_s(self) -> float:
        """How long a stage's hold on a job lasts without a heartbeat (a quarter of the bound).

        A dead worker's job is found when its lease runs out and handed on at once, so
        `max_attempts` tries fit within `recovery_bound_s`.
        """
        return self.recovery_bound_s / 4

    @property
    def stall_s(self) -> float:
        """How long an active job with no holder and no waiting message may sit still."""
        return self.recovery_bound_s / 2

    @property
    def blob_location(self) -> tuple[str, str] | None:
        """(bucket, prefix) of the S3 blob store, or None for the local folder HOME/blobs."""
        match = _BLOB_URL.fullmatch(self.blob_url) if self.blob_url else None
        return (match["bucket"], match["prefix"] or "") if match else None

    @property
    def hash_bank_folder(self) -> Path:
        """Folder of PDQ hash bank files (`NAME.txt`, one `HEX[,label]` per line)."""
        return self.hash_banks or self.home / "hash-banks"

    def with_home(self, home: Path) -> Settings:
        """Same settings rooted at another home (tests and benchmarks use throwaway homes)."""
        home = home.resolve()
        return self.model_copy(update={"home": home, "database_url": _sqlite_url(home)})

    def resolve_passphrase(self) -> str:
        """The authority key passphrase: from the environment, or a generated one for embedded mode.

        Embedded mode must work on a fresh machine with no set-up, so when no passphrase is
        configured one is generated once and kept in HOME/key-passphrase (mode 0600). That
        protects the keys against a copied key file but not against someone who can read HOME:
        production sets STILLGUARD_KEY_PASSPHRASE from a secret store.
        """
        if self.key_passphrase:
            return self.key_passphrase
        path = self.home / "key-passphrase"
        if path.exists():
            return _read_passphrase(path)
        if (self.home / "authority" / "authority.json").exists():
            # The keys are encrypted with the passphrase that file held: a new one cannot open them.
            raise SettingsError(
                f"{path} is missing, but the authority's keys under {self.home / 'authority'} are "
                "encrypted with the passphrase it held: restore key-passphrase from a backup, or "
                "set STILLGUARD_KEY_PASSPHRASE to that passphrase (a new one cannot open the keys)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        # Written whole to a private temp file, then linked into place: a process racing this
        # one either wins the link or reads the complete winner, never an empty file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-passphrase-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
            os.link(tmp, path)
        except FileExistsError:
            return _read_passphrase(path)
        finally:
            os.unlink(tmp)
        print(
            "stillguard: no STILLGUARD_KEY_PASSPHRASE set; generated one for embedded mode "
            f"in {path} (set the variable in production)",
            file=sys.stderr,
        )
        return value


def _read_passphrase(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise SettingsError(f"{path} is empty: delete it or set STILLGUARD_KEY_PASSPHRASE")
    return value
