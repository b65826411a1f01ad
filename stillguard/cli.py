"""The `stillguard` command line: the journey, verification, workers, the API and the audit log."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .cli_operators import (
    cmd_audit_query,
    cmd_audit_verify,
    cmd_authority,
    cmd_keys_create,
    cmd_policy_backtest,
    cmd_policy_validate,
    cmd_review_decide,
    cmd_review_list,
)
from .cli_support import (
    EXIT_BAD_INPUT,
    EXIT_FOR_ACTION,
    EXIT_FOR_STATUS,
    EXIT_OK,
    EXIT_OTHER,
    UsageError,
    emit,
    local_pipeline,
)
from .settings import Settings


def _progress(job_id: str, what: str) -> None:
    print(f"stillguard: job {job_id[:8]}: {what}...", file=sys.stderr, flush=True)


def _options(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    options: dict[str, Any] = {"seed": seed, "audio": not args.no_audio}
    for name in ("duration", "fps", "motion", "style", "size"):
        value = getattr(args, name)
        if value is not None:
            options["duration_s" if name == "duration" else name] = value
    return options


def _output_paths(photo: Path, out: Path | None, variations: int) -> list[Path]:
    base = out or Path.cwd() / f"{photo.stem}.stillguard.mp4"
    if not base.parent.is_dir():
        raise UsageError(f"output directory {base.parent} does not exist")
    if variations == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{i + 1}{base.suffix}") for i in range(variations)]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import LocalRunner
    from .wiring import BadRequest, JobRequest, open_store

    photo_path = Path(args.photo)
    if not photo_path.is_file():
        raise UsageError(f"photo {photo_path} does not exist or is not a file")
    if args.variations < 1 or args.variations > 8:
        raise UsageError("--variations must be between 1 and 8")
    outputs = _output_paths(photo_path, Path(args.out) if args.out else None, args.variations)
    photo = photo_path.read_bytes()
    show_progress = not args.json and sys.stderr.isatty()
    runner = LocalRunner(settings, open_store(settings), _progress if show_progress else None)
    results = []
    for index, out in enumerate(outputs):
        request = JobRequest(
            photo=photo,
            prompt=args.prompt,
            options=_options(args, args.seed + index),
            submitter="cli",
        )
        try:
            results.append(runner.run(request, out))
        except BadRequest as exc:
            raise UsageError(f"{exc.code}: {exc}") from exc
    reports = [r.to_dict() for r in results]
    if args.json:
        print(
            json.dumps(reports[0] if len(reports) == 1 else {**reports[0], "variations": reports})
        )
    else:
        for report in reports:
            print(_run_summary(report))
    return max(EXIT_FOR_STATUS[r["status"]] for r in reports)


def cmd_extend(args: argparse.Namespace, settings: Settings) -> int:
    from .jobs import LocalRunner
    from .wiring import BadRequest, extension_request, open_store

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"output directory {out.parent} does not exist")
    store = open_store(settings)
    runner = LocalRunner(
        settings, store, _progress if not args.json and sys.stderr.isatty() else None
    )
    try:
        request = extension_request(
            store, runner.pipeline.deps.blobs, args.job_id, args.duration, submitter="cli"
        )
        report = runner.run(request, out).to_dict() | {"extends": args.job_id}
    except BadRequest as exc:
        raise UsageError(f"{exc.code}: {exc}") from exc
    print(json.dumps(report) if args.json else _run_summary(report))
    return EXIT_FOR_STATUS[report["status"]]


# Timings print in the order the job went through the stages.
STAGE_TIMING_ORDER = ("input_gate", "generation", "label", "watermark", "fingerprint", "encode",
                      "output_gate", "sign", "verify", "audit", "total")  # fmt: skip


def _run_summary(report: dict[str, Any]) -> str:
    lines = [f"job {report['job_id']}: {report['status']}"]
    for decision in report["decisions"]:
        reasons = "; ".join(decision["reasons"]) or "no rule fired"
        lines.append(f"  {decision['stage']:<7} {decision['action']:<7} ({reasons})")
    if report["error"] and report["status"] != "published":
        lines.append(f"  reason: {report['error']}")
    if report["output"]:
        lines.append(f"  output: {report['output']}")
    order = {name: i for i, name in enumerate(STAGE_TIMING_ORDER)}
    ordered = sorted(report["timings_ms"].items(), key=lambda item: order.get(item[0], 99))
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in ordered)
    lines.append(f"  timings: {timings}")
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from provenance.errors import ProvenanceError
    from provenance.repository import ManifestRepository
    from provenance.verify import verify_file

    from .wiring import open_authority, open_store

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"file {path} does not exist or is not a file")
    open_store(settings)  # the manifest repository lives in the migrated audit database
    repository = ManifestRepository(settings.database_url)
    try:
        anchors = open_authority(settings).trust_anchors()
        report = verify_file(path, anchors, repository=repository).to_dict()
    except ProvenanceError as exc:
        report = {"status": "error", "error": str(exc), "ai_generated": False}
    human = "\n".join(f"{k}: {v}" for k, v in report.items())
    emit(args, report, human)
    return EXIT_OK if report["status"] == "valid" else EXIT_OTHER


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .api import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from .workers import run_worker

    if not settings.kafka_bootstrap:
        raise UsageError("worker needs STILLGUARD_KAFKA_BOOTSTRAP (Kafka bootstrap servers)")
    run_worker(settings, args.stage)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from .moderation import check_content
    from .wiring import BadRequest

    content = None
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"file {path} does not exist or is not a file")
        content = path.read_bytes()
    try:
        report = check_content(
            local_pipeline(settings).deps, content=content, prompt=args.prompt, stage=args.stage
        )
    except BadRequest as exc:
        raise UsageError(f"{exc.code}: {exc}") from exc
    decision = report["decision"]
    lines = [
        f"{decision['stage']} decision: {decision['action']} (policy {decision['policy_version']})"
    ]
    lines += [f"  reason: {r}" for r in decision["reasons"]]
    lines += [
        f"  {s['category']:<22} {s['score']:.3f}  {s['model']}"
        + (f"  {s['start_s']:.1f}-{s['end_s']:.1f} s" if s["start_s"] is not None else "")
        for s in report["signals"]
    ]
    lines += [
        f"  segment {g['category']} {g['start_s']:.1f}-{g['end_s']:.1f} s peak {g['peak']:.2f}"
        for g in report["segments"]
    ]
    emit(args, report, "\n".join(lines))
    return EXIT_FOR_ACTION[decision["action"]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stillguard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="moderate, generate, check, label, sign and record one photo")
    run.add_argument("photo")
    run.add_argument("--prompt")
    run.add_argument("--out")
    run.add_argument("--duration", type=float)
    run.add_argument("--fps", type=int)
    run.add_argument("--size", help="WxH, e.g. 1280x720")
    run.add_argument("--motion", choices=["low", "medium", "high"])
    run.add_argument("--style")
    run.add_argument("--no-audio", action="store_true")
    run.add_argument("--variations", type=int, default=1)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=cmd_run)

    extend = sub.add_parser("extend", help="a longer clip that continues a published job's motion")
    extend.add_argument("job_id")
    extend.add_argument("--duration", type=float, required=True, help="new length, seconds")
    extend.add_argument("--out", required=True)
    extend.add_argument("--json", action="store_true")
    extend.set_defaults(handler=cmd_extend)

    verify = sub.add_parser("verify", help="provenance report for any file")
    verify.add_argument("file")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=cmd_verify)

    serve = sub.add_parser("serve", help="HTTP API; stages run in-process without Kafka")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="one stage as a Kafka consumer group member")
    worker.add_argument(
        "stage", choices=["input-gate", "generator", "output-gate", "provenance", "audit-writer"]
    )
    worker.set_defaults(handler=cmd_worker)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True
    )
    query = audit.add_parser("query", help="reviewer queries over the audit log")
    for name in ("job", "stage", "action", "since", "until", "policy"):
        query.add_argument(f"--{name}")
    query.add_argument("--limit", type=int, default=100)
    query.add_argument("--after", type=int, help="keyset cursor: events after this seq")
    query.add_argument("--json", action="store_true")
    query.set_defaults(handler=cmd_audit_query)
    chain = audit.add_parser("verify", help="check the hash chain of the whole log")
    chain.add_argument("--json", action="store_true")
    chain.set_defaults(handler=cmd_audit_verify)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create an API key (the secret is shown once)")
    create.add_argument("--role", required=True, choices=["submitter", "reviewer", "admin"])
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_keys_create)

    check = sub.add_parser("check", help="moderation only: a photo, a prompt or any clip")
    check.add_argument("file", nargs="?", help="a photo or an MP4 clip")
    check.add_argument("--prompt")
    check.add_argument("--stage", choices=["input", "output"])
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_check)

    review = sub.add_parser("review", help="the human review queue").add_subparsers(
        dest="review_command", required=True
    )
    review_list = review.add_parser("list", help="jobs held for review")
    review_list.add_argument("--limit", type=int, default=100)
    review_list.add_argument("--json", action="store_true")
    review_list.set_defaults(handler=cmd_review_list)
    review_decide = review.add_parser("decide", help="approve (resume) or block a held job")
    review_decide.add_argument("job_id")
    review_decide.add_argument("--action", required=True, choices=["approve", "block"])
    review_decide.add_argument("--reason", required=True)
    review_decide.add_argument("--reviewer", default="cli")
    review_decide.add_argument("--json", action="store_true")
    review_decide.set_defaults(handler=cmd_review_decide)

    authority = sub.add_parser("authority", help="the signing authority").add_subparsers(
        dest="authority_command", required=True
    )
    for name, text in (
        ("init", "create the keys and certificates (idempotent)"),
        ("show", "certificates, algorithms and validity"),
        ("rotate", "new signing certificate; old clips stay verifiable"),
        ("export-trust", "write the PEM trust anchors a verifier needs"),
    ):
        command = authority.add_parser(name, help=text)
        command.add_argument("--json", action="store_true")
        if name == "rotate":
            command.add_argument("--alg", choices=["es256", "es384", "ps256", "ed25519"])
        if name == "export-trust":
            command.add_argument("dir")
        command.set_defaults(handler=cmd_authority)

    policy = sub.add_parser("policy", help="policy packs").add_subparsers(
        dest="policy_command", required=True
    )
    validate = policy.add_parser("validate", help="check a policy pack file")
    validate.add_argument("file")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=cmd_policy_validate)
    backtest = policy.add_parser("backtest", help="replay recorded signals through a pack")
    backtest.add_argument("file")
    backtest.add_argument("--since")
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(handler=cmd_policy_backtest)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `stillguard` command."""
    args = build_parser().parse_args(argv)
    # Models load from installed packages only; never reach for a hub, never draw progress bars.
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TQDM_DISABLE", "1"),
    ):
        os.environ.setdefault(name, value)
    try:
        return int(args.handler(args, Settings.from_env()))
    except UsageError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": {"code": "bad_input", "message": str(exc)}}))
        print(f"stillguard: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
