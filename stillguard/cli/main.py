"""The `stillguard` command line: the journey, verification, workers, the API and the audit log."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import StillguardError
from ..settings import Settings, SettingsError
from . import doctor, jobs, moderation, operators, provenance, service
from .output import EXIT_BAD_INPUT, UsageError, exit_code_for

COMMAND_GROUPS = (jobs, provenance, service, operators, moderation, doctor)
# Models load from installed packages only; never reach for a hub, never draw progress bars.
OFFLINE_ENVIRONMENT = (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TRANSFORMERS_VERBOSITY", "error"),
    ("TQDM_DISABLE", "1"),
)


def build_parser() -> argparse.ArgumentParser:
    """Every command; each group module registers its own."""
    parser = argparse.ArgumentParser(prog="stillguard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def _refuse(args: argparse.Namespace, message: str, code: int) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": {"code": "bad_input", "message": message}}))
    print(f"stillguard: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `stillguard` command."""
    args = build_parser().parse_args(argv)
    for name, value in OFFLINE_ENVIRONMENT:
        os.environ.setdefault(name, value)
    try:
        return int(args.handler(args, Settings.from_env()))
    except (UsageError, SettingsError) as exc:
        return _refuse(args, str(exc), EXIT_BAD_INPUT)
    except StillguardError as exc:
        return _refuse(args, f"{exc.code}: {exc}", exit_code_for(exc))
