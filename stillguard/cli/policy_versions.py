"""`policy upload|activate|rollback|history`: policy packs as versions in the database."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from audit.policy_versions import DEFAULT_SURFACE

from ..settings import Settings
from .output import EXIT_OK, UsageError, emit, existing_file, parse_time

if TYPE_CHECKING:  # the container is imported when a command runs, not at start-up
    from ..container import StageDeps

ADMIN = "cli"


def register(policy: argparse._SubParsersAction) -> None:
    """Add the version commands to the `policy` group."""
    upload = policy.add_parser("upload", help="store a pack as a new, immutable version")
    upload.add_argument("file")
    upload.add_argument("--activate", action="store_true", help="and make it active now")
    _common(upload, cmd_policy_upload)
    activate = policy.add_parser("activate", help="make an uploaded version the active pack")
    activate.add_argument("version")
    _common(activate, cmd_policy_activate)
    rollback = policy.add_parser("rollback", help="go back to the previously active version")
    _common(rollback, cmd_policy_rollback)
    history = policy.add_parser("history", help="every uploaded version and activation")
    _common(history, cmd_policy_history)
    shadow = policy.add_parser(
        "shadow", help="run a version beside the active pack (VERSION, --off, or 'report')"
    )
    shadow.add_argument("version", nargs="?", help="an uploaded version, or 'report'")
    shadow.add_argument("--off", action="store_true", help="stop the shadow pack")
    shadow.add_argument("--since", help="report: only decisions since this ISO time")
    _common(shadow, cmd_policy_shadow)


def _common(parser: argparse.ArgumentParser, handler: object) -> None:
    parser.add_argument("--surface", default=DEFAULT_SURFACE, help="which surface's pack")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=handler)


def _deps(settings: Settings) -> StageDeps:
    from ..container import build_deps, open_store

    return build_deps(settings, open_store(settings))


def cmd_policy_upload(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a pack file and store it under its version (activated with --activate)."""
    from ..services.admin import upload_policy

    body = existing_file(args.file, "policy pack").read_bytes()
    surface = args.surface if args.activate else None
    stored = upload_policy(_deps(settings), body, admin=ADMIN, activate_on=surface)
    state = f", active on {args.surface}" if args.activate else " (not active)"
    emit(args, stored.to_dict(), f"uploaded policy {stored.version}{state}")
    return EXIT_OK


def cmd_policy_activate(args: argparse.Namespace, settings: Settings) -> int:
    """Switch the surface to an uploaded version; running workers follow at once."""
    from ..services.admin import activate_policy_version

    activation = activate_policy_version(
        _deps(settings), args.version, admin=ADMIN, surface=args.surface
    )
    emit(args, activation.to_dict(), f"policy {activation.version} active on {args.surface}")
    return EXIT_OK


def cmd_policy_rollback(args: argparse.Namespace, settings: Settings) -> int:
    """Re-activate the version that was active before the current one."""
    from ..services.admin import rollback_policy

    activation = rollback_policy(_deps(settings), admin=ADMIN, surface=args.surface)
    emit(args, activation.to_dict(), f"rolled back {args.surface} to {activation.version}")
    return EXIT_OK


def cmd_policy_history(args: argparse.Namespace, settings: Settings) -> int:
    """Print every uploaded version and every activation."""
    from ..services.admin import policy_history

    history = policy_history(_deps(settings))
    lines = [
        f"{v['uploaded_at']} uploaded {v['version']} sha256={v['sha256'][:16]}"
        for v in history["versions"]
    ]
    lines += [
        f"{a['activated_at']} {a['surface']}/{a['role']} -> {a['version']} by {a['activated_by']}"
        for a in history["activations"]
    ]
    emit(args, history, "\n".join(lines) or "no policy versions uploaded")
    return EXIT_OK


def cmd_policy_shadow(args: argparse.Namespace, settings: Settings) -> int:
    """Set or stop the shadow pack, or report what it would have changed."""
    from ..services.admin import shadow_policy_version, withdraw_shadow
    from ..services.shadow import shadow_report

    deps = _deps(settings)
    if args.version == "report":
        report = shadow_report(deps, since=parse_time(args.since))
        rate = report["agreement_rate"]
        lines = [
            f"shadow {', '.join(report['shadow_versions']) or '-'}: {report['decisions']} "
            f"decisions, agreement {rate:.1%}"
            if rate is not None
            else "no shadow decisions yet"
        ]
        lines += [
            f"  {c['stage']}: {c['from']} -> {c['to']}: {c['count']}" for c in report["changes"]
        ]
        lines += [f"  rule {r['rule']}: {r['count']}" for r in report["rules"]]
        emit(args, report, "\n".join(lines))
        return EXIT_OK
    if args.off == bool(args.version):
        raise UsageError("give an uploaded VERSION to shadow, --off, or 'report'")
    if args.off:
        activation = withdraw_shadow(deps, admin=ADMIN, surface=args.surface)
    else:
        activation = shadow_policy_version(deps, args.version, admin=ADMIN, surface=args.surface)
    emit(args, activation.to_dict(), f"shadow pack of {args.surface}: {activation.version}")
    return EXIT_OK
