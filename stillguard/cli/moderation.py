"""`stillguard check`: moderation only, for a photo, a prompt or any clip."""

from __future__ import annotations

import argparse

from audit.records import DEFAULT_SURFACE
from policies.pack import STAGES

from ..settings import Settings
from .output import EXIT_FOR_ACTION, emit, existing_file


def register(sub: argparse._SubParsersAction) -> None:
    """Add `check`."""
    check = sub.add_parser("check", help="moderation only: a photo, a prompt or any clip")
    check.add_argument("file", nargs="?", help="a photo or an MP4 clip")
    check.add_argument("--prompt")
    check.add_argument("--stage", choices=STAGES)
    check.add_argument(
        "--surface",
        default=DEFAULT_SURFACE,
        help="whose active pack decides (as for `run --surface`), e.g. teen",
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print the signals, segments and decision; the exit status follows the action."""
    from ..container import build_deps, open_store
    from ..services.moderation import check_content

    content = existing_file(args.file).read_bytes() if args.file else None
    report = check_content(
        build_deps(settings, open_store(settings)),
        content=content,
        prompt=args.prompt,
        stage=args.stage,
        surface=args.surface,
    )
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
