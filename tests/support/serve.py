"""`stillguard serve` in a subprocess: for tests that kill it or measure its memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on loopback nobody is listening on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(home: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    """`stillguard serve` on `port` with HOME `home` and extra STILLGUARD_* variables, once healthy."""
    variables = {
        **os.environ,
        "STILLGUARD_HOME": str(home),
        "STILLGUARD_KEY_PASSPHRASE": "test-passphrase",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "stillguard", "serve", "--port", str(port)],
        cwd=REPO,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not start")


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` now (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class PeakMemory:
    """The largest resident size a process reaches while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._done = pid, rss_bytes(pid), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
