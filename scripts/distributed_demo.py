"""Start Stillguard distributed on this machine, send one job through it, print its verification.

Run it with `bash scripts/distributed-demo`. It starts, and stops again at the end: a Tansu
Kafka-protocol broker, a fresh PostgreSQL database on 127.0.0.1:5432, the S3 test server, one
worker per stage plus the audit writer, and `stillguard serve`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from stillguard.container import open_store
from tests.support.cluster import local_cluster
from tests.support.s3_server import running_s3
from tests.support.samples import SAMPLE_PHOTO

OPTIONS = {"duration_s": 3.0, "fps": 12, "size": "480x270", "seed": 1}


def main() -> int:
    """The demo; exits 0 when the job was published and its clip verifies `valid`."""
    with tempfile.TemporaryDirectory(prefix="stillguard-demo-") as tmp:
        root = Path(tmp)
        with running_s3("stillguard-demo") as s3:
            print(f"object store (S3 test server, an emulator): {s3.endpoint}", flush=True)
            with local_cluster(root, blob_url=s3.blob_url, extra_env=s3.env) as cluster:
                for name, value in cluster.env.items():
                    if "PASSPHRASE" not in name and "SECRET" not in name:
                        print(f"  {name}={value}")
                print(f"serve: {cluster.api}; workers: {', '.join(cluster.processes)}", flush=True)
                store = open_store(cluster.settings)
                _, secret = store.create_api_key("submitter")
                headers = {"Authorization": f"Bearer {secret}"}
                answer = httpx.post(
                    f"{cluster.api}/v1/jobs",
                    headers=headers,
                    files={"image": (SAMPLE_PHOTO.name, SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
                    data={"options": json.dumps(OPTIONS)},
                    timeout=30,
                )
                answer.raise_for_status()
                job_id = answer.json()["job_id"]
                print(f"submitted job {job_id}", flush=True)
                started = time.monotonic()
                status = cluster.wait_ended([job_id], timeout_s=180)[job_id]
                print(f"job {job_id}: {status} after {time.monotonic() - started:.1f} s")
                if status != "published":
                    print(f"reason: {store.get_job(job_id).error}")  # type: ignore[union-attr]
                    return 1
                video = httpx.get(
                    f"{cluster.api}/v1/jobs/{job_id}/video",
                    headers=headers,
                    follow_redirects=True,
                    timeout=30,
                )
                video.raise_for_status()
                report = httpx.post(
                    f"{cluster.api}/v1/verify",
                    files={"file": ("clip.mp4", video.content, "video/mp4")},
                    timeout=60,
                ).json()
                print("--- verify report ---")
                for key, value in report.items():
                    print(f"{key}: {value}")
                store.close()
                return 0 if report.get("status") == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
