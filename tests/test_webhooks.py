"""Completion webhooks: signed, retried after a failure, refused for unsafe URLs, dead-lettered."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from audit.store import AuditQuery
from stillguard.api import create_app
from stillguard.container import open_store
from stillguard.services.webhooks import (
    ID_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_CHANNEL,
    verify_signature,
)
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


class Receiver:
    """A local HTTP server that records deliveries and answers `answers` in turn (then 200)."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.deliveries.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stillguard"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.deliveries) >= count, self.deliveries


def _client(tmp_path: Path, **overrides: str):
    settings = settings_for(tmp_path, **overrides)
    store = open_store(settings)
    _, secret = store.create_api_key("submitter")
    return settings, store, {"Authorization": f"Bearer {secret}"}


def _submit(client: TestClient, headers: dict, **data: str) -> str:
    answer = client.post(
        "/v1/jobs",
        headers=headers,
        files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
        data={"options": json.dumps(SMALL_CLIP), **data},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def test_a_signed_completion_webhook_is_retried_after_a_failure(tmp_path: Path) -> None:
    receiver = Receiver(answers=[500])
    settings, store, headers = _client(tmp_path, STILLGUARD_WEBHOOK_ALLOW="127.0.0.1")
    with TestClient(create_app(settings)) as client:
        registered = client.put("/v1/webhook", json={"url": receiver.url}, headers=headers)
        assert registered.status_code == 200, registered.text
        secret = registered.json()["secret"]
        job_id = _submit(client, headers)
        receiver.wait_for(2)
    (first_headers, _), (second_headers, second_body) = receiver.deliveries[:2]
    assert first_headers[ID_HEADER] == second_headers[ID_HEADER] == f"{job_id}.published"
    for sent_headers, body in receiver.deliveries[:2]:
        assert verify_signature(secret, sent_headers, body)
        assert not verify_signature("whsec_someone_else", sent_headers, body)
    state = json.loads(second_body)
    assert state["status"] == "published" and state["verify"]["status"] == "valid"
    assert state["video_url"].endswith(f"/v1/jobs/{job_id}/video")
    # A replay later than the tolerance, or a changed body, is refused by the receiver's check.
    stale = {**second_headers, TIMESTAMP_HEADER: str(int(second_headers[TIMESTAMP_HEADER]) - 600)}
    assert not verify_signature(secret, stale, second_body)
    assert not verify_signature(secret, second_headers, second_body + b" ")
    assert store.outbox.dead_letters(WEBHOOK_CHANNEL) == []


def test_a_per_job_callback_that_never_answers_is_dead_lettered_and_the_job_unaffected(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/gone"
    settings, store, headers = _client(
        tmp_path, STILLGUARD_WEBHOOK_ALLOW="127.0.0.1", STILLGUARD_WEBHOOK_MAX_ATTEMPTS="2"
    )
    with TestClient(create_app(settings)) as client:
        job_id = _submit(client, headers, callback_url=closed)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not store.outbox.dead_letters(WEBHOOK_CHANNEL):
            time.sleep(0.2)
        status = client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"]
    assert status == "published"
    dead = store.outbox.dead_letters(WEBHOOK_CHANNEL)
    assert [d.job_id for d in dead] == [job_id] and dead[0].attempts == 2
    assert "ConnectError" in (dead[0].last_error or "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        "http://[::1]/hook",
        "http://user:pw@example.org/hook",
        "https://hook.example/\nx",
    ],
)
def test_unsafe_webhook_urls_are_refused_at_registration(tmp_path: Path, url: str) -> None:
    settings, store, headers = _client(tmp_path)
    with TestClient(create_app(settings)) as client:
        answer = client.put("/v1/webhook", json={"url": url}, headers=headers)
        per_job = client.post(
            "/v1/jobs",
            headers=headers,
            files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
            data={"options": json.dumps(SMALL_CLIP), "callback_url": url},
        )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_callback_url"
    assert per_job.status_code == 400
    assert store.webhook_of("x") is None and store.list_jobs() == []


def test_dead_webhook_letters_are_listed_and_replayed_by_an_operator_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stillguard.cli import main

    receiver = Receiver(answers=[503, 503])
    settings, store, headers = _client(
        tmp_path, STILLGUARD_WEBHOOK_ALLOW="127.0.0.1", STILLGUARD_WEBHOOK_MAX_ATTEMPTS="2"
    )
    for name, value in (
        ("STILLGUARD_HOME", str(tmp_path)),
        ("STILLGUARD_KEY_PASSPHRASE", "test-passphrase"),
        ("STILLGUARD_WEBHOOK_ALLOW", "127.0.0.1"),
    ):
        monkeypatch.setenv(name, value)
    with TestClient(create_app(settings)) as client:
        job_id = _submit(client, headers, callback_url=receiver.url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not store.outbox.dead_letters(WEBHOOK_CHANNEL):
            time.sleep(0.2)
        assert main(["dlq", "list", WEBHOOK_CHANNEL, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)["dead_letters"]
        assert [d["job_id"] for d in listed] == [job_id] and "503" in listed[0]["last_error"]
        assert main(["dlq", "replay", WEBHOOK_CHANNEL, "--operator", "ops-ana"]) == 0
        receiver.wait_for(3)
    state = json.loads(receiver.deliveries[-1][1])
    assert state == {**state, "job_id": job_id, "status": "published"}
    replayed = store.events(AuditQuery(kind="dead_letters.replayed"))
    assert replayed and replayed[0].payload["operator"] == "ops-ana"
