"""A distributed Stillguard on one machine: a broker, a database, workers per stage and `serve`.

The pipeline benchmark, the multi-worker test and `scripts/distributed-demo` start the same
pieces through `local_cluster`, each as its own OS process (so a test can SIGKILL one):
a Tansu broker, a fresh PostgreSQL database, optionally an S3-protocol test server, N workers
per stage plus an audit writer, and `stillguard serve`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from stillguard.container import open_authority, open_store
from stillguard.settings import Settings
from tests.support.kafka_broker import running_tansu
from tests.support.postgres import fresh_database

REPO = Path(__file__).resolve().parents[2]
STAGES = ("input-gate", "generator", "output-gate", "provenance")
ENDED = ("published", "refused", "held", "failed")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """The running pieces, and what a test or benchmark does to them."""

    root: Path
    env: dict[str, str]
    serve_port: int
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The settings every process of the cluster runs with."""
        return Settings.from_env(self.env)

    @property
    def api(self) -> str:
        """Base URL of `serve`."""
        return f"http://127.0.0.1:{self.serve_port}"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "stillguard", *args],
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.setdefault(name, []).append(process)
        return process

    def start_worker(self, stage: str) -> subprocess.Popen[bytes]:
        """One more `stillguard worker STAGE` process."""
        return self._spawn(stage, ["worker", stage])

    def start_serve(self, timeout_s: float = 60) -> subprocess.Popen[bytes]:
        """`stillguard serve`, once it answers /healthz."""
        process = self._spawn("serve", ["serve", "--port", str(self.serve_port)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}: see {self.root}/logs")
            try:
                if httpx.get(f"{self.api}/healthz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("serve did not answer /healthz in time")

    def live(self, name: str) -> list[subprocess.Popen[bytes]]:
        """The processes of `name` (a stage or "serve") still running."""
        return [p for p in self.processes.get(name, []) if p.poll() is None]

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Stop one process the hard way (SIGKILL) unless told otherwise, and reap it."""
        process.send_signal(sig)
        process.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM everything still running (workers finish the job in hand), then reap."""
        running = [p for group in self.processes.values() for p in group if p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait_ended(self, job_ids: list[str], timeout_s: float) -> dict[str, str]:
        """Each job's status once all ended, or when the time is up."""
        store = open_store(self.settings)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                statuses = {j: store.get_job(j).status for j in job_ids}  # type: ignore[union-attr]
                if all(s in ENDED for s in statuses.values()) or time.monotonic() > deadline:
                    return statuses
                time.sleep(0.3)
        finally:
            store.close()


@contextmanager
def local_cluster(
    root: Path,
    *,
    workers_per_stage: int = 1,
    extra_workers: Sequence[str] = (),
    blob_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start every piece (the database migrated and the keys made before any worker races to);
    `extra_workers` names stages that get one worker more (each worker costs seconds to start)."""
    with ExitStack() as stack:
        bootstrap = stack.enter_context(running_tansu())
        database = stack.enter_context(fresh_database("sg_cluster"))
        env = {
            "STILLGUARD_HOME": str(root / "home"),
            "STILLGUARD_KEY_PASSPHRASE": "local-cluster-passphrase",
            "STILLGUARD_KAFKA_BOOTSTRAP": bootstrap,
            "STILLGUARD_DATABASE_URL": database,
            **({"STILLGUARD_BLOB_URL": blob_url} if blob_url else {}),
            **(extra_env or {}),
        }
        cluster = Cluster(root=root, env=env, serve_port=free_port())
        settings = cluster.settings
        open_store(settings).close()
        open_authority(settings)
        stack.callback(cluster.stop)
        for stage in STAGES:
            for _ in range(workers_per_stage + list(extra_workers).count(stage)):
                cluster.start_worker(stage)
        cluster.start_worker("audit-writer")
        cluster.start_serve()
        yield cluster
