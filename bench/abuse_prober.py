"""Abuse-over-time figures (issue 12): a scripted prober against the API, and the gate's cost.

    .venv/bin/python -m bench.abuse_prober [--variants 20]

A throwaway embedded service (SQLite, in-process stages) with the sample photo in a known-bad
hash bank. One key submits that photo (refused), then `--variants` slight changes of it (crop up
to 2.5 % a side, brightness up to 15 %, noise); another key submits an explicit prompt (refused),
then as many rewordings (synonyms, obfuscations, other languages). Each attempt's row: the PDQ
distance to the refused photo, the job's status, the content rules and the history rules that
fired. The figure is the first attempt after the refusal at which a history rule fires (target:
by the 5th).

Input gate latency: "before" is what the gate evaluated before the history existed (decode the
photo, every classifier, the policy), "after" adds the history signals (photo hash, prompt
embedding from classify's cache, the key's history read and written); both in this process on
the very same jobs, interleaved, medians. The gate's own recorded timings are printed beside.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient

from safety.hashes import pdq_hash
from safety.photo_intake import load_photo
from stillguard.api import create_app
from stillguard.container import StageDeps, open_store
from stillguard.services.abuse import history_signals_for
from stillguard.services.prompts import moderated_text
from tests.support.abuse_probes import (
    PROMPT_REWORDINGS,
    REFUSED_PROMPT,
    photo_variant,
    png,
    probe_photo,
)
from tests.support.journey import SMALL_CLIP, png_bytes, settings_for, wait_for

HISTORY_RULE = "input.history."


def pdq_distance(a: bytes, b: bytes) -> int:
    """Hamming distance of two PDQ hashes."""
    return sum((x ^ y).bit_count() for x, y in zip(a, b, strict=True))


def run_series(
    client: TestClient,
    headers: dict[str, str],
    attempts: list[tuple[str, bytes, str | None]],
    describe: Callable[[int, bytes], str],
) -> tuple[int | None, list[str]]:
    """Submit each (label, photo, prompt) in turn; print a row each. Returns the first attempt
    (after the first, refused one) at which a history rule fired, and the job ids."""
    escalated, job_ids = None, []
    for number, (label, photo, prompt) in enumerate(attempts):
        data = {"options": json.dumps(SMALL_CLIP)} | ({"prompt": prompt} if prompt else {})
        files = {"image": ("photo.png", photo, "image/png")}
        answer = client.post("/v1/jobs", files=files, data=data, headers=headers)
        answer.raise_for_status()
        job = wait_for(client, headers, answer.json()["job_id"], timeout=180)
        job_ids.append(job["job_id"])
        fired = next(d for d in job["decisions"] if d["stage"] == "input")["rules_fired"]
        history = [r.removeprefix(HISTORY_RULE) for r in fired if r.startswith(HISTORY_RULE)]
        content = [r.removeprefix("input.") for r in fired if not r.startswith(HISTORY_RULE)]
        if history and escalated is None and number > 0:
            escalated = number
        print(
            f"  {number:>2} {label:<44.44} {describe(number, photo):>8} {job['status']:<9} "
            f"{','.join(content) or '-':<28.28} {','.join(history) or '-'}"
        )
    return escalated, job_ids


def gate_latency(
    deps: StageDeps, job_ids: list[str]
) -> tuple[list[float], list[float], list[float]]:
    """Per job, ms of the input gate's evaluation without and with the history (interleaved),
    and of the history signals alone."""
    before, after, history = [], [], []
    for job_id in job_ids:
        job = deps.store.get_job(job_id)
        assert job is not None
        photo, _mime = load_photo(deps.blobs.read(job.input_blob))
        text = moderated_text(job.prompt, job.options.get("motion_prompt"))
        policy = deps.policies.current(job.surface)
        start = time.perf_counter()
        policy.decide("input", deps.input_signals(photo, text), job_id=job.id)
        before.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        signals = deps.input_signals(photo, text)
        started_history = time.perf_counter()
        signals += history_signals_for(deps, job, photo, text)
        history.append((time.perf_counter() - started_history) * 1000)
        policy.decide("input", signals, job_id=job.id)
        after.append((time.perf_counter() - start) * 1000)
    return before, after, history


def recorded_gate_ms(
    client: TestClient, reviewer: dict[str, str], job_ids: list[str]
) -> list[float]:
    """The input gate's own timings, as recorded in each decision event."""
    found = []
    for job_id in job_ids:
        events = client.get("/v1/audit", params={"job": job_id}, headers=reviewer).json()["events"]
        decision = next(e for e in events if e["kind"] == "decision" and e["stage"] == "input")
        found.append(decision["payload"]["timings_ms"]["input_gate"])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=20, help="changes of each refused input")
    args = parser.parse_args()
    count = min(args.variants, len(PROMPT_REWORDINGS))
    home = Path(tempfile.mkdtemp(prefix="abuse-prober-"))
    settings = settings_for(home, STILLGUARD_QUOTA_PER_MINUTE="1000")
    store = open_store(settings)
    admin, reviewer, photo_key, prompt_key = (
        {"Authorization": f"Bearer {store.create_api_key(role)[1]}"}
        for role in ("admin", "reviewer", "submitter", "submitter")
    )
    original = probe_photo()
    refused_hash = pdq_hash(original)[0]
    with TestClient(create_app(settings)) as client:
        bank = f"{refused_hash.hex()},prober\n".encode()
        client.put("/v1/hash-banks/known-bad", content=bank, headers=admin).raise_for_status()
        print(
            "photo: the refused photo, then slight changes (PDQ distance; the bank matches <= 31)"
        )
        photos = [("refused photo", png(original), None)] + [
            (f"variant {n}", png(photo_variant(original, n)), None) for n in range(1, count + 1)
        ]
        photo_at, photo_jobs = run_series(
            client,
            photo_key,
            photos,
            lambda _n, photo: str(pdq_distance(pdq_hash(load_photo(photo)[0])[0], refused_hash)),
        )
        print("prompt: the refused prompt, then rewordings (plain photos, no PDQ fingerprint)")
        prompts = [(REFUSED_PROMPT, png_bytes(color=(90, 140, 200)), REFUSED_PROMPT)] + [
            (text, png_bytes(color=(90 + n, 140, 200)), text)
            for n, text in enumerate(PROMPT_REWORDINGS[:count], start=1)
        ]
        prompt_at, prompt_jobs = run_series(client, prompt_key, prompts, lambda n, _p: "")
        recorded = recorded_gate_ms(client, reviewer, photo_jobs + prompt_jobs)
        before, after, history = gate_latency(
            client.app.state.services.deps, photo_jobs + prompt_jobs
        )
    print(
        f"escalated at attempt: photo variants {photo_at}, prompt rewordings {prompt_at} (target <= 5)"
    )
    median = statistics.median
    print(
        f"input gate, median ms over {len(before)} jobs: before {median(before):.1f}, "
        f"after {median(after):.1f} (history signals alone {median(history):.1f}, p90 "
        f"{statistics.quantiles(history, n=10)[-1]:.1f}); as the gate recorded it during the "
        f"probes {median(recorded):.1f}"
    )


if __name__ == "__main__":
    main()
