"""A service whose every clip is held for review, with a key per role: for review tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from stillguard.api import create_app
from stillguard.container import open_store
from stillguard.settings import Settings

from .journey import SMALL_CLIP, settings_for
from .samples import SAMPLE_PHOTO

REVIEW_EVERY_OUTPUT = """
version: "test-review-1"
stages:
  input:
    default_action: label
    rules:
      - {id: input.nsfw.block, category: nsfw, threshold: 0.8, action: block}
      - {id: input.prompt.sexual.block, category: prompt.sexual, threshold: 0.8, action: block}
  output:
    default_action: review
    rules:
      - {id: output.nsfw.block, category: nsfw, threshold: 0.9, action: block}
      - {id: output.violence.review, category: violence, threshold: 0.6, action: review}
"""
ROLES = ("submitter", "reviewer", "admin")


@dataclass
class ReviewService:
    """A running service, its settings and a bearer header (and secret) for each key."""

    client: TestClient
    settings: Settings
    headers: dict[str, dict[str, str]]
    secrets: dict[str, str]

    def key(self, role: str) -> tuple[dict[str, str], str]:
        """A fresh key of `role`: its header and its secret."""
        with open_store(self.settings) as store:
            _, secret = store.create_api_key(role)
        return {"Authorization": f"Bearer {secret}"}, secret

    def submit(self, prompt: str | None = None, headers: dict[str, str] | None = None) -> str:
        """Submit the sample photo as a small clip; the job id."""
        answer = self.client.post(
            "/v1/jobs",
            files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
            data={"options": json.dumps(SMALL_CLIP), **({"prompt": prompt} if prompt else {})},
            headers=headers or self.headers["submitter"],
        )
        assert answer.status_code == 202, answer.text
        return answer.json()["job_id"]

    def wait(self, job_id: str, want: set[str], timeout_s: float = 120) -> dict:
        """The job once its status is one of `want`."""
        deadline = time.monotonic() + timeout_s
        job: dict = {}
        while time.monotonic() < deadline:
            job = self.client.get(f"/v1/jobs/{job_id}", headers=self.headers["admin"]).json()
            if job["status"] in want:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job never reached {want}: {job}")

    def held(self, prompt: str | None = None) -> str:
        """A job held for review at the output gate."""
        job_id = self.submit(prompt)
        assert self.wait(job_id, {"held", "published", "refused", "failed"})["status"] == "held"
        return job_id


def review_service(home: Path, **overrides: str) -> Iterator[ReviewService]:
    """Start the API with every clip held for review (use as a generator fixture)."""
    (home / "policies").mkdir(parents=True, exist_ok=True)
    (home / "policies" / "active.yaml").write_text(REVIEW_EVERY_OUTPUT)
    settings = settings_for(home, **overrides)
    with open_store(settings) as store:
        secrets = {role: store.create_api_key(role)[1] for role in ROLES}
    headers = {role: {"Authorization": f"Bearer {s}"} for role, s in secrets.items()}
    with TestClient(create_app(settings)) as client:
        yield ReviewService(client, settings, headers, secrets)
