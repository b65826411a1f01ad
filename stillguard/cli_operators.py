"""Operator commands: the audit log, API keys, the review queue, the authority and policy packs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .cli_support import EXIT_OK, EXIT_OTHER, UsageError, emit, local_pipeline, parse_time
from .settings import Settings


def cmd_audit_query(args: argparse.Namespace, settings: Settings) -> int:
    from audit.store import AuditQuery

    from .wiring import open_store

    query = AuditQuery(
        job_id=args.job,
        stage=args.stage,
        action=args.action,
        since=parse_time(args.since),
        until=parse_time(args.until),
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
    emit(args, {"events": events, "next_after_seq": next_after}, human)
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
    emit(args, data, human)
    return EXIT_OK if data["intact"] else EXIT_OTHER


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from .wiring import open_store

    key_id, secret = open_store(settings).create_api_key(args.role)
    emit(
        args,
        {"key_id": key_id, "role": args.role, "secret": secret},
        f"created {args.role} key {key_id}\nsecret (shown once): {secret}",
    )
    return EXIT_OK


def cmd_review_list(args: argparse.Namespace, settings: Settings) -> int:
    from .review import held_jobs

    queue = held_jobs(local_pipeline(settings).deps, limit=args.limit)
    human = "\n".join(f"{j['job_id']} {j['stage']:<6} {'; '.join(j['reasons'])}" for j in queue)
    emit(args, {"reviews": queue}, human or "review queue is empty")
    return EXIT_OK


def cmd_review_decide(args: argparse.Namespace, settings: Settings) -> int:
    from .review import decide
    from .wiring import BadRequest

    pipeline = local_pipeline(settings)
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
        job = pipeline.deps.store.get_job(job.id) or job
    emit(args, job.to_dict(), f"job {job.id}: {job.status}")
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
    emit(args, report, json.dumps(report, indent=2, default=str))
    return EXIT_OK


def cmd_policy_validate(args: argparse.Namespace, settings: Settings) -> int:
    from policies.pack import PolicyError, PolicyPack

    try:
        pack = PolicyPack.load(Path(args.file))
    except (PolicyError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    emit(
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
    report = backtest(pack, _recorded_decisions(open_store(settings), parse_time(args.since)))
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
    emit(args, data, "\n".join(human))
    return EXIT_OK
