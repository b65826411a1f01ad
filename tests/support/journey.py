"""Helpers shared by the journey tests: small clip options and throwaway settings."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from PIL import Image

from stillguard.settings import Settings

# Small enough to keep the suite fast, large enough for every stage to do real work.
SMALL_CLIP = {"duration_s": 2.0, "fps": 8, "size": "192x108", "seed": 7}
SMALL_CLIP_ARGS = ["--duration", "2", "--fps", "8", "--size", "192x108", "--seed", "7"]


def settings_for(home: Path, **overrides: str) -> Settings:
    """Settings rooted in a temporary home with a fixed passphrase."""
    env = {"STILLGUARD_HOME": str(home), "STILLGUARD_KEY_PASSPHRASE": "test-passphrase"}
    env.update(overrides)
    return Settings.from_env(env)


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (90, 140, 200)
) -> bytes:
    """A small valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def giant_png_header(width: int = 8000, height: int = 6000) -> bytes:
    """A PNG whose header claims 48 Mpx but whose data is tiny: a decompression bomb's shape."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def wait_for(client: Any, headers: dict, job_id: str, timeout: float = 90) -> dict:
    """The job as the API shows it once it ends (published, refused, held or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("published", "refused", "held", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")
