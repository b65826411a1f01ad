"""`stillguard verify` and `stillguard authority`: provenance reports and the signing keys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from provenance.certificates import SIGNING_ALGS

from ..settings import Settings
from .output import EXIT_OK, EXIT_OTHER, UsageError, emit, existing_file

AUTHORITY_COMMANDS = (
    ("init", "create the keys and certificates (idempotent)"),
    ("show", "certificates, algorithms and validity"),
    ("rotate", "new signing certificate; old clips stay verifiable"),
    ("export-trust", "write the PEM trust anchors a verifier needs"),
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `verify` and `authority ...`."""
    verify = sub.add_parser("verify", help="provenance report for any file")
    verify.add_argument("file")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=cmd_verify)

    authority = sub.add_parser("authority", help="the signing authority").add_subparsers(
        dest="authority_command", required=True
    )
    for name, text in AUTHORITY_COMMANDS:
        command = authority.add_parser(name, help=text)
        command.add_argument("--json", action="store_true")
        if name == "rotate":
            command.add_argument("--alg", choices=SIGNING_ALGS)
        if name == "export-trust":
            command.add_argument("dir")
        command.set_defaults(handler=cmd_authority)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report; exit 0 only for `valid`."""
    from ..container import build_deps, open_store
    from ..services.verification import verify_path

    path = existing_file(args.file)
    report = verify_path(build_deps(settings, open_store(settings)), path)
    human = "\n".join(f"{k}: {v}" for k, v in report.items())
    emit(args, report, human)
    return EXIT_OK if report["status"] == "valid" else EXIT_OTHER


def cmd_authority(args: argparse.Namespace, settings: Settings) -> int:
    """Create, describe, rotate or export the authority's certificates."""
    from provenance.errors import ProvenanceError

    from ..container import open_authority

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
