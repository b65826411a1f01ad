"""Operator commands: the audit log, API keys, the review queue and policy packs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.records import API_KEY_ROLES
from audit.store import AuditQuery
from policies.pack import PolicyPack

from ..services.admin import MAX_POLICY_BYTES, policy_from_bytes, stored_policy
from ..services.review import REVIEW_ACTIONS
from ..settings import Settings
from . import policy_versions
from .output import (
    EXIT_OK,
    EXIT_OTHER,
    UsageError,
    emit,
    existing_file,
    listing,
    page_size,
    parse_time,
    safe_text,
    sequence_number,
)

if TYPE_CHECKING:  # the container is imported when a command runs, not at start-up
    from ..container import StageDeps

BACKTEST_LISTED = 20  # flipped jobs named in the human report


def register(sub: argparse._SubParsersAction) -> None:
    """Add `audit ...`, `keys create`, `review ...` and `policy ...`."""
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True
    )
    query = audit.add_parser("query", help="reviewer queries over the audit log")
    for name in ("job", "stage", "action", "since", "until", "policy"):
        query.add_argument(f"--{name}", type=safe_text)
    query.add_argument("--limit", type=page_size, default=100)
    query.add_argument("--after", type=sequence_number, help="keyset cursor: events after this seq")
    query.add_argument("--json", action="store_true")
    query.set_defaults(handler=cmd_audit_query)
    chain = audit.add_parser(
        "verify", help="check the hash chain against its signed checkpoints and anchors"
    )
    chain.add_argument(
        "--anchor",
        nargs="+",
        default=[],
        metavar="FILE",
        help="exported checkpoint files kept outside the database",
    )
    chain.add_argument("--json", action="store_true")
    chain.set_defaults(handler=cmd_audit_verify)
    checkpoint = audit.add_parser("checkpoint", help="sign the chain head now")
    checkpoint.add_argument("--json", action="store_true")
    checkpoint.set_defaults(handler=cmd_audit_checkpoint)
    export = checkpoint.add_subparsers(dest="checkpoint_command").add_parser(
        "export", help="write every checkpoint as a file, for an auditor to keep"
    )
    export.add_argument("directory")
    export.add_argument("--json", action="store_true")
    export.set_defaults(handler=cmd_audit_checkpoint_export)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create an API key (the secret is shown once)")
    create.add_argument("--role", required=True, choices=API_KEY_ROLES)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_keys_create)

    review = sub.add_parser("review", help="the human review queue").add_subparsers(
        dest="review_command", required=True
    )
    review_list = review.add_parser("list", help="jobs held for review")
    review_list.add_argument("--limit", type=page_size, default=100)
    review_list.add_argument("--json", action="store_true")
    review_list.set_defaults(handler=cmd_review_list)
    review_decide = review.add_parser("decide", help="approve (resume) or block a held job")
    review_decide.add_argument("job_id", type=safe_text)
    review_decide.add_argument("--action", required=True, choices=REVIEW_ACTIONS)
    review_decide.add_argument("--reason", required=True, type=safe_text)
    review_decide.add_argument("--reviewer", default="cli")
    review_decide.add_argument("--json", action="store_true")
    review_decide.set_defaults(handler=cmd_review_decide)
    review_appeals = review.add_parser("appeals", help="appealed refusals waiting for a reviewer")
    review_appeals.add_argument("--limit", type=page_size, default=100)
    review_appeals.add_argument("--json", action="store_true")
    review_appeals.set_defaults(handler=cmd_review_list, appeals_only=True)
    review_claim = review.add_parser("claim", help="hold a job so no other reviewer decides it")
    review_claim.add_argument("job_id", type=safe_text)
    review_claim.add_argument("--reviewer", default="cli")
    review_claim.add_argument("--minutes", type=float, default=10.0)
    review_claim.add_argument("--json", action="store_true")
    review_claim.set_defaults(handler=cmd_review_claim)

    dlq = sub.add_parser("dlq", help="dead letters: messages given up on").add_subparsers(
        dest="dlq_command", required=True
    )
    dlq_list = dlq.add_parser("list", help="dead letters, oldest first")
    dlq_list.add_argument(
        "topic", nargs="?", type=safe_text, help="only this topic (or stillguard.webhooks)"
    )
    dlq_list.add_argument("--limit", type=page_size, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_list.set_defaults(handler=cmd_dlq_list)
    dlq_replay = dlq.add_parser("replay", help="send dead letters of a topic again (audited)")
    dlq_replay.add_argument("topic", type=safe_text)
    dlq_replay.add_argument("--id", type=int, action="append", dest="ids", help="one letter")
    dlq_replay.add_argument("--operator", default="cli")
    dlq_replay.add_argument("--json", action="store_true")
    dlq_replay.set_defaults(handler=cmd_dlq_replay)

    policy = sub.add_parser("policy", help="policy packs").add_subparsers(
        dest="policy_command", required=True
    )
    validate = policy.add_parser("validate", help="check a policy pack file")
    validate.add_argument("file")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=cmd_policy_validate)
    backtest = policy.add_parser(
        "backtest", help="replay recorded signals through a pack; list the jobs that would flip"
    )
    backtest.add_argument("file", metavar="CANDIDATE", help="a pack file or an uploaded version")
    backtest.add_argument(
        "--baseline",
        metavar="VERSION_OR_FILE",
        help="compare with this pack's decisions on the same signals (default: what was recorded)",
    )
    backtest.add_argument("--since", help="only decisions at or after this ISO time")
    backtest.add_argument("--until", help="only decisions before this ISO time")
    backtest.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="processes replaying the decisions (default: one per CPU this process may use)",
    )
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(handler=cmd_policy_backtest)
    policy_versions.register(policy)


def cmd_audit_query(args: argparse.Namespace, settings: Settings) -> int:
    """Print a page of audit events and the cursor for the next one."""
    from ..container import open_store

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
    human = listing(events, _event_line, "no events")
    emit(args, {"events": events, "next_after_seq": next_after}, human)
    return EXIT_OK


def _event_line(e: dict[str, Any]) -> str:
    return (
        f"{e['seq']:>6} {e['created_at']} {e['job_id'] or '-':<32} {e['stage']:<10} "
        f"{e['kind']:<16} {e['action'] or '':<8} {'; '.join(e['reasons'])}"
    )


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Check the hash chain against every checkpoint and anchor; exit 1 when it disagrees."""
    from ..container import open_authority, open_store
    from ..services.checkpoints import verify_audit

    anchors = [existing_file(path, "anchor") for path in args.anchor]
    report = verify_audit(open_store(settings), open_authority(settings), anchors)
    data = report.to_dict()
    if report.intact:
        human = (
            f"audit chain intact: {data['checked']} events checked against "
            f"{data['checkpoints_checked']} checkpoints and {data['anchors_checked']} anchors; "
            f"{data['events_after_newest_checkpoint']} events after the newest checkpoint"
        )
    else:
        human = "audit chain BROKEN: " + "\n  ".join(report.problems or [str(report.reason)])
    emit(args, data, human)
    return EXIT_OK if report.intact else EXIT_OTHER


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    """Sign the chain head now (a no-op when the newest checkpoint already covers it)."""
    from ..container import open_authority, open_store
    from ..services.checkpoints import checkpoint_now

    checkpoint = checkpoint_now(open_store(settings), open_authority(settings))
    if checkpoint is None:
        emit(args, {"created": False}, "no new events since the newest checkpoint")
    else:
        emit(
            args,
            {"created": True, **checkpoint.fields},
            f"signed {checkpoint.name}: {checkpoint.fields['event_count']} events",
        )
    return EXIT_OK


def cmd_audit_checkpoint_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every stored checkpoint to DIR, one JSON file each."""
    from audit.checkpoints import export_checkpoints

    from ..container import open_store

    directory = Path(args.directory)
    if not directory.is_dir() and not directory.parent.is_dir():  # one new folder, not a tree
        raise UsageError(f"cannot create {directory}: its parent folder does not exist")
    paths = export_checkpoints(open_store(settings), directory)
    emit(
        args,
        {"files": [str(p) for p in paths]},
        f"exported {len(paths)} checkpoints to {args.directory}",
    )
    return EXIT_OK


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an API key; its secret is printed once and stored only as a hash."""
    from ..container import open_store

    key_id, secret = open_store(settings).create_api_key(args.role)
    emit(
        args,
        {"key_id": key_id, "role": args.role, "secret": secret},
        f"created {args.role} key {key_id}\nsecret (shown once): {secret}",
    )
    return EXIT_OK


def cmd_review_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the jobs held for a reviewer (or only the appeals among them)."""
    from ..container import build_deps, open_store
    from ..services.review import held_jobs

    queue = held_jobs(build_deps(settings, open_store(settings)), limit=args.limit)
    if getattr(args, "appeals_only", False):
        queue = [j for j in queue if j["appeal"]]
    emit(args, {"reviews": queue}, listing(queue, _review_line, "review queue is empty"))
    return EXIT_OK


def _review_line(j: dict[str, Any]) -> str:
    return (
        f"{j['job_id']} {j['stage']:<6} {'appeal ' if j['appeal'] else ''}{'; '.join(j['reasons'])}"
    )


def cmd_review_claim(args: argparse.Namespace, settings: Settings) -> int:
    """Claim a held job for a reviewer; another's live claim is a conflict naming them."""
    from ..container import build_deps, open_store
    from ..services.review import claim

    deps = build_deps(settings, open_store(settings))
    held = claim(deps, args.job_id, args.reviewer, ttl_s=args.minutes * 60)
    emit(
        args,
        held.to_dict(),
        f"job {held.job_id}: claimed by {held.reviewer} until {held.expires_at.isoformat()}",
    )
    return EXIT_OK


def cmd_review_decide(args: argparse.Namespace, settings: Settings) -> int:
    """Record a reviewer's decision; an approved job resumes (in this process without Kafka)."""
    from ..container import open_store
    from ..pipeline.local import LocalRunner
    from ..services.review import decide

    runner = LocalRunner(settings, open_store(settings))
    job = decide(
        runner.deps, args.job_id, action=args.action, reason=args.reason, reviewer=args.reviewer
    )
    if settings.kafka_bootstrap:
        from streams.kafka import KafkaBackend

        from ..pipeline.relay import OutboxRelay

        backend = KafkaBackend(settings.kafka_bootstrap)
        try:
            OutboxRelay(runner.deps, backend.publish, job_id=job.id).run_once()
        finally:
            backend.close()
    else:
        job = runner.finish(job.id)
    emit(args, job.to_dict(), f"job {job.id}: {job.status}")
    return EXIT_OK


def cmd_dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the dead letters with their errors."""
    from ..container import open_store
    from ..services.dead_letters import dead_letters

    letters = [d.to_dict() for d in dead_letters(open_store(settings), args.topic, args.limit)]
    emit(args, {"dead_letters": letters}, listing(letters, _dead_letter_line, "no dead letters"))
    return EXIT_OK


def _dead_letter_line(d: dict[str, Any]) -> str:
    return f"{d['id']:>6} {d['topic']:<32} {d['job_id']} tries {d['attempts']}: {d['last_error']}"


def cmd_dlq_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Make dead letters pending again; the relay of any running process sends them."""
    from ..container import open_store
    from ..services.dead_letters import replay_dead_letters

    count = replay_dead_letters(open_store(settings), args.topic, args.ids, operator=args.operator)
    emit(args, {"replayed": count}, f"replayed {count} dead letter(s) of {args.topic}")
    return EXIT_OK


def _load_pack(path: str) -> PolicyPack:
    """A pack file read as an upload is: a regular file, bounded in size, UTF-8 YAML."""
    file = existing_file(path, "policy pack")
    try:
        with file.open("rb") as handle:
            body = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{file}: cannot read policy pack ({exc.strerror})") from exc
    return policy_from_bytes(body, source=str(file))


def cmd_policy_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check a pack file without activating it."""
    pack = _load_pack(args.file)
    emit(
        args,
        {"valid": True, "version": pack.version},
        f"{args.file}: valid policy pack, version {pack.version}",
    )
    return EXIT_OK


def cmd_policy_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """Replay recorded signals through a candidate pack and name the jobs that would flip."""
    from ..container import build_deps, open_store
    from ..services.backtests import backtest_log

    store = open_store(settings)
    deps = build_deps(settings, store)
    since, until = parse_time(args.since), parse_time(args.until)
    pack = _pack_named(deps, args.file)
    baseline = _pack_named(deps, args.baseline) if args.baseline else None
    if args.workers < 1:
        raise UsageError("--workers must be 1 or more")
    report = backtest_log(
        store, pack, baseline=baseline, since=since, until=until, workers=args.workers
    )
    data = report.to_dict()
    against = f"policy {data['baseline_version']}" if baseline else "the recorded decisions"
    human = [
        (
            f"policy {data['policy_version']} against {against}: {data['replayed']} decisions "
            f"replayed, {data['changed']} would change"
        )
    ]
    human += [
        f"  {t['from']} -> {t['to']}: {t['count']}"
        for t in data["transitions"]
        if t["from"] != t["to"]
    ]
    flips = data["changes"]
    human += [
        f"  {c['job_id']}: {c['stage']} {c['old_action']} -> {c['new_action']}"
        for c in flips[:BACKTEST_LISTED]
    ]
    if len(flips) > BACKTEST_LISTED:
        human.append(f"  ... and {len(flips) - BACKTEST_LISTED} more (--json lists them all)")
    emit(args, data, "\n".join(human))
    return EXIT_OK


def _pack_named(deps: StageDeps, name: str) -> PolicyPack:
    """A pack file when `name` is a path that exists, else an uploaded version."""
    if Path(name).exists():
        return _load_pack(name)
    return stored_policy(deps, name)
