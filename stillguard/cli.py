"""The `stillguard` command line: the journey, verification, workers, the API and the audit log."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .settings import Settings

EXIT_OK, EXIT_OTHER, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_HELD = 0, 1, 2, 3, 4
EXIT_FOR_STATUS = {
    "published": EXIT_OK,
    "refused": EXIT_REFUSED,
    "held": EXIT_HELD,
    "failed": EXIT_OTHER,
}


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit status 2."""


def _emit(args: argparse.Namespace, report: dict[str, Any], human: str) -> None:
    print(json.dumps(report, default=str) if args.json else human)


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


def _run_summary(report: dict[str, Any]) -> str:
    lines = [f"job {report['job_id']}: {report['status']}"]
    for decision in report["decisions"]:
        reasons = "; ".join(decision["reasons"]) or "no rule fired"
        lines.append(f"  {decision['stage']:<7} {decision['action']:<7} ({reasons})")
    if report["error"] and report["status"] != "published":
        lines.append(f"  reason: {report['error']}")
    if report["output"]:
        lines.append(f"  output: {report['output']}")
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in report["timings_ms"].items())
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
    _emit(args, report, human)
    return EXIT_OK if report["status"] == "valid" else EXIT_OTHER


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"not an ISO 8601 time: {value!r}") from exc


def cmd_audit_query(args: argparse.Namespace, settings: Settings) -> int:
    from audit.store import AuditQuery

    from .wiring import open_store

    query = AuditQuery(
        job_id=args.job,
        stage=args.stage,
        action=args.action,
        since=_parse_time(args.since),
        until=_parse_time(args.until),
        policy_version=args.policy,
        limit=args.limit,
        after_seq=args.after,
    )
    events = [e.to_dict() for e in open_store(settings).events(query)]
    next_after = events[-1]["seq"] if len(events) == args.limit else None
    human = (
        "\n".join(
            f"{e['seq']:>6} {e['created_at']} {e['job_id'] or '-':<32} {e['stage']:<10} "
            f"{e['kind']:<16} {e['action'] or '':<8} {'; '.join(e['reasons'])}"
            for e in events
        )
        or "no events"
    )
    _emit(args, {"events": events, "next_after_seq": next_after}, human)
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from .wiring import open_store

    report = open_store(settings).verify_chain()
    data = report.to_dict() if hasattr(report, "to_dict") else vars(report)
    human = (
        f"audit chain intact: {data['checked']} events checked"
        if data["intact"]
        else f"audit chain BROKEN at event {data['first_broken_seq']}: {data.get('reason')}"
    )
    _emit(args, data, human)
    return EXIT_OK if data["intact"] else EXIT_OTHER


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from .wiring import open_store

    key_id, secret = open_store(settings).create_api_key(args.role)
    _emit(
        args,
        {"key_id": key_id, "role": args.role, "secret": secret},
        f"created {args.role} key {key_id}\nsecret (shown once): {secret}",
    )
    return EXIT_OK


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


EXIT_FOR_ACTION = {
    "allow": EXIT_OK,
    "label": EXIT_OK,
    "restrict": EXIT_OK,
    "block": EXIT_REFUSED,
    "review": EXIT_HELD,
}


def _local_deps(settings: Settings):  # type: ignore[no-untyped-def]
    """Stage dependencies for a command that runs stages in this process (check, review)."""
    from .pipeline import InProcessPipeline
    from .wiring import build_deps, open_store

    store = open_store(settings)
    return InProcessPipeline(lambda publish: build_deps(settings, store, publish))


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
            _local_deps(settings).deps, content=content, prompt=args.prompt, stage=args.stage
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
    _emit(args, report, "\n".join(lines))
    return EXIT_FOR_ACTION[decision["action"]]


def cmd_review_list(args: argparse.Namespace, settings: Settings) -> int:
    from .review import held_jobs

    queue = held_jobs(_local_deps(settings).deps, limit=args.limit)
    human = "\n".join(f"{j['job_id']} {j['stage']:<6} {'; '.join(j['reasons'])}" for j in queue)
    _emit(args, {"reviews": queue}, human or "review queue is empty")
    return EXIT_OK


def cmd_review_decide(args: argparse.Namespace, settings: Settings) -> int:
    from .review import decide
    from .wiring import BadRequest

    pipeline = _local_deps(settings)
    if settings.kafka_bootstrap:
        from streams.kafka import KafkaBackend

        pipeline.deps.publish = KafkaBackend(settings.kafka_bootstrap).publish
    try:
        job = decide(
            pipeline.deps,
            args.job_id,
            action=args.action,
            reason=args.reason,
            reviewer=args.reviewer,
        )
    except BadRequest as exc:
        raise UsageError(f"{exc.code}: {exc}") from exc
    if not settings.kafka_bootstrap:
        pipeline.drain()
        job = pipeline.deps.store.get_job(job.id)
    _emit(args, job.to_dict(), f"job {job.id}: {job.status}")
    return EXIT_OK


def cmd_authority(args: argparse.Namespace, settings: Settings) -> int:
    from provenance.errors import ProvenanceError

    from .wiring import open_authority

    try:
        authority = open_authority(settings)
        if args.authority_command == "rotate":
            new_id = authority.rotate(alg=args.alg)
            authority = open_authority(settings)
            report = {"rotated_to": new_id, **authority.describe()}
        elif args.authority_command == "export-trust":
            directory = Path(args.dir)
            if not directory.is_dir():
                raise UsageError(f"directory {directory} does not exist")
            report = {k: str(v) for k, v in authority.export_trust(directory).items()}
        else:
            report = authority.describe()
    except ProvenanceError as exc:
        raise UsageError(str(exc)) from exc
    _emit(args, report, json.dumps(report, indent=2, default=str))
    return EXIT_OK


def cmd_policy_validate(args: argparse.Namespace, settings: Settings) -> int:
    from policies.pack import PolicyError, PolicyPack

    try:
        pack = PolicyPack.load(Path(args.file))
    except (PolicyError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    _emit(
        args,
        {"valid": True, "version": pack.version},
        f"{args.file}: valid policy pack, version {pack.version}",
    )
    return EXIT_OK


def _recorded_decisions(store, since):  # type: ignore[no-untyped-def]
    """Every policy decision in the audit log (reviewers' overrides left out), page by page."""
    from audit.store import AuditQuery

    after = None
    while True:
        page = store.events(AuditQuery(kind="decision", since=since, limit=1000, after_seq=after))
        yield from (e for e in page if not (e.payload or {}).get("reviewer"))
        if len(page) < 1000:
            return
        after = page[-1].seq


def cmd_policy_backtest(args: argparse.Namespace, settings: Settings) -> int:
    from policies.backtest import backtest
    from policies.pack import PolicyError, PolicyPack

    from .wiring import open_store

    try:
        pack = PolicyPack.load(Path(args.file))
    except (PolicyError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    report = backtest(pack, _recorded_decisions(open_store(settings), _parse_time(args.since)))
    data = report.to_dict()
    human = [
        (
            f"policy {data['policy_version']}: {data['replayed']} decisions replayed, "
            f"{data['changed']} would change"
        )
    ]
    human += [
        f"  {t['from']} -> {t['to']}: {t['count']}"
        for t in data["transitions"]
        if t["from"] != t["to"]
    ]
    _emit(args, data, "\n".join(human))
    return EXIT_OK


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
