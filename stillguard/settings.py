"""One settings object, read from `STILLGUARD_*` environment variables at the edge and passed in."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where Stillguard keeps its state and which services it talks to."""

    home: Path
    database_url: str = field(repr=False)  # may carry a password
    kafka_bootstrap: str | None
    key_passphrase: str | None = field(repr=False)
    policy_path: Path | None
    tsa_url: str | None = None
    clip_checkpoint: Path | None = None
    diffusers_model: Path | None = None
    hash_banks_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from `STILLGUARD_*` variables with embedded-mode defaults."""
        env = os.environ if environ is None else environ
        home = Path(env.get("STILLGUARD_HOME", "./.stillguard")).expanduser().resolve()
        default_db = f"sqlite:///{home / 'audit.sqlite3'}"
        policy = env.get("STILLGUARD_POLICY_PATH")
        return cls(
            home=home,
            database_url=env.get("STILLGUARD_DATABASE_URL", default_db),
            kafka_bootstrap=env.get("STILLGUARD_KAFKA_BOOTSTRAP") or None,
            key_passphrase=env.get("STILLGUARD_KEY_PASSPHRASE") or None,
            policy_path=Path(policy) if policy else None,
            tsa_url=env.get("STILLGUARD_TSA_URL") or None,
            clip_checkpoint=Path(clip) if (clip := env.get("STILLGUARD_CLIP_CHECKPOINT")) else None,
            diffusers_model=Path(model)
            if (model := env.get("STILLGUARD_DIFFUSERS_MODEL"))
            else None,
            hash_banks_dir=Path(banks) if (banks := env.get("STILLGUARD_HASH_BANKS")) else None,
            max_upload_bytes=int(env.get("STILLGUARD_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
        )

    @property
    def hash_banks(self) -> Path:
        """Folder of PDQ hash bank files (`NAME.txt`, one `HEX[,label]` per line)."""
        return self.hash_banks_dir or self.home / "hash-banks"

    def with_home(self, home: Path) -> Settings:
        """Same settings rooted at another home (tests and benchmarks use throwaway homes)."""
        home = home.resolve()
        return replace(self, home=home, database_url=f"sqlite:///{home / 'audit.sqlite3'}")

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
        raise RuntimeError(f"{path} is empty: delete it or set STILLGUARD_KEY_PASSPHRASE")
    return value
