"""Distributed pipeline figures: throughput with 1 and 2 workers per stage, and a crash soak.

    python -m bench.pipeline [--jobs 20] [--soak 200] [--kill-every 25] [--skip-throughput]

Everything runs on this machine (Tansu, PostgreSQL on 127.0.0.1:5432, the S3 test server, one
process per worker, `serve`), with small clips (192x108, 2 s), so the figures say how the
pipeline itself scales and recovers, not how fast a clip renders. Printed:
- jobs per minute with 1 and with 2 worker processes per stage, and their ratio;
- the soak: N jobs while one worker process is SIGKILLed (and restarted) every K jobs and
  `serve` once; lost, stuck, duplicated audit events or published clips, `audit verify`,
  published clips that verify `valid`, and the time from serve's restart to the last job it
  had in flight ending.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from audit.store import AuditQuery
from provenance.verify import verify_file
from stillguard.container import open_authority, open_store
from tests.support.cluster import STAGES, Cluster, local_cluster
from tests.support.s3_server import running_s3
from tests.support.samples import SAMPLE_PHOTO

SMALL = {"duration_s": 2.0, "fps": 8, "size": "192x108"}
ONCE_PER_JOB = {"job.created", "clip.generated", "published", "job.failed"}


def _submit(cluster: Cluster, headers: dict[str, str], seed: int) -> str:
    """Submit one job, waiting out a `serve` that is down (restarting) meanwhile."""
    while True:
        try:
            answer = httpx.post(
                f"{cluster.api}/v1/jobs",
                headers={**headers, "Idempotency-Key": f"bench-{seed}"},
                files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
                data={"options": json.dumps({**SMALL, "seed": seed})},
                timeout=30,
            )
            answer.raise_for_status()
            return str(answer.json()["job_id"])
        except httpx.HTTPError:
            time.sleep(0.5)


def _key(cluster: Cluster) -> dict[str, str]:
    store = open_store(cluster.settings)
    _, secret = store.create_api_key("submitter")
    store.close()
    return {"Authorization": f"Bearer {secret}"}


def throughput(workers: int, jobs: int, s3_env: dict[str, str], blob_url: str) -> float:
    """Jobs per minute from the first submission to the last job ending."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_cluster(
            Path(tmp), workers_per_stage=workers, blob_url=blob_url, extra_env=s3_env
        ) as cluster,
    ):
        headers = _key(cluster)
        warm = _submit(cluster, headers, 10_000)  # load every stage's models first
        cluster.wait_ended([warm], timeout_s=300)
        started = time.monotonic()
        ids = [_submit(cluster, headers, seed) for seed in range(jobs)]
        statuses = cluster.wait_ended(ids, timeout_s=jobs * 30)
        elapsed = time.monotonic() - started
        ended = sum(s in ("published", "refused", "failed") for s in statuses.values())
        return 60 * ended / elapsed


def soak(jobs: int, kill_every: int, s3_env: dict[str, str], blob_url: str) -> dict[str, object]:
    """Jobs through two workers per stage while workers and serve are SIGKILLed."""
    rng = random.Random(7)
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_cluster(
            Path(tmp), workers_per_stage=2, blob_url=blob_url, extra_env=s3_env
        ) as cluster,
    ):
        headers = _key(cluster)
        store = open_store(cluster.settings)
        ids: list[str] = []
        recovery_s = None
        for seed in range(jobs):
            ids.append(_submit(cluster, headers, seed))
            if seed and seed % kill_every == 0:
                stage = rng.choice(STAGES)
                victim = rng.choice(cluster.live(stage))
                cluster.kill(victim)
                cluster.start_worker(stage)
            if seed == jobs // 2:
                in_flight = [
                    j
                    for j in ids
                    if store.get_job(j).status not in ("published", "refused", "failed", "held")
                ]  # type: ignore[union-attr]
                for serve in cluster.live("serve"):
                    cluster.kill(serve)
                restarted = time.monotonic()
                cluster.start_serve()
                cluster.wait_ended(in_flight, timeout_s=600)
                recovery_s = time.monotonic() - restarted
        statuses = cluster.wait_ended(ids, timeout_s=900)
        duplicated = 0
        for job_id in ids:
            kinds = Counter(
                (e.stage, e.kind) for e in store.events(AuditQuery(job_id=job_id, limit=100))
            )
            duplicated += sum(
                n - 1
                for (stage, kind), n in kinds.items()
                if n > 1 and (kind in ONCE_PER_JOB or kind == "decision")
            )
        anchors = open_authority(cluster.settings).trust_anchors()
        valid = 0
        published = [j for j, s in statuses.items() if s == "published"]
        for job_id in published:
            video = httpx.get(
                f"{cluster.api}/v1/jobs/{job_id}/video",
                headers=_admin(cluster),
                follow_redirects=True,
                timeout=60,
            )
            path = Path(cluster.root) / "check.mp4"
            path.write_bytes(video.content)
            valid += verify_file(path, anchors).status == "valid"
        result = {
            "jobs": jobs,
            "published": len(published),
            "failed": sum(s == "failed" for s in statuses.values()),
            "stuck": sum(
                s not in ("published", "refused", "failed", "held") for s in statuses.values()
            ),
            "lost": sum(store.get_job(j) is None for j in ids),
            "duplicated_events": duplicated,
            "audit_intact": store.verify_chain().intact,
            "published_valid": valid,
            "restart_to_last_recovered_s": round(recovery_s or 0.0, 1),
            "failed_reasons": sorted(
                {store.get_job(j).error or "" for j, s in statuses.items() if s == "failed"}
            ),  # type: ignore[union-attr]
        }
        store.close()
        return result


def _admin(cluster: Cluster) -> dict[str, str]:
    store = open_store(cluster.settings)
    _, secret = store.create_api_key("reviewer")
    store.close()
    return {"Authorization": f"Bearer {secret}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per throughput run")
    parser.add_argument("--soak", type=int, default=200, help="jobs in the soak (0: skip)")
    parser.add_argument("--kill-every", type=int, default=25)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    with running_s3("stillguard-bench") as s3:
        if not args.skip_throughput:
            one = throughput(1, args.jobs, s3.env, s3.blob_url)
            two = throughput(2, args.jobs, s3.env, s3.blob_url)
            print(
                f"throughput: 1 worker/stage {one:.1f} jobs/min, 2 workers/stage {two:.1f} jobs/min, ratio {two / one:.2f}"
            )
        if args.soak:
            print(
                "soak:", json.dumps(soak(args.soak, args.kill_every, s3.env, s3.blob_url), indent=2)
            )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
