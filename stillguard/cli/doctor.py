"""`stillguard doctor`: what this installation moderates, and whether its parts answer.

Exit status: 0 when every part answers and every category an active pack requires is
evaluated; 1 when a part does not answer (the audit store, the blob store, the keys, Kafka when
configured); 5 when the parts answer but a category a rule `require`s is not evaluated (every
job would then go to review).
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..settings import Settings
from .output import EXIT_OK, EXIT_OTHER, emit

EXIT_REQUIRED_UNEVALUATED = 5
PARTS = {
    "audit_store": "audit store",
    "blob_store": "blob store",
    "authority": "authority keys",
    "kafka": "Kafka",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add `doctor`."""
    doctor = sub.add_parser(
        "doctor", help="what is and is not moderated here, and whether the stores and keys answer"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    """Report the parts' health and every category's coverage; the exit status sums it up."""
    from ..container import build_deps, open_store
    from ..services.coverage import category_coverage
    from ..services.health import kafka_problem, readiness_problems

    try:
        store = open_store(settings)  # migrates to the newest schema, as every command does
    except SQLAlchemyError as exc:
        parts = {"audit_store": _part(False, f"does not answer or cannot migrate: {exc.code}")}
        return _report(args, parts, None, EXIT_OTHER)
    deps = build_deps(settings, store)
    problems = readiness_problems(deps)
    kafka = kafka_problem(settings.kafka_bootstrap)
    if kafka:
        problems["kafka"] = kafka
    fine = {
        "audit_store": f"answers ({store.engine.dialect.name}), schema at the newest revision",
        "blob_store": "answers",
        "authority": "keys open",
        "kafka": "answers" if settings.kafka_bootstrap else "not configured (stages in-process)",
    }
    parts = {name: _part(name not in problems, problems.get(name, fine[name])) for name in PARTS}
    coverage = category_coverage(deps)
    status = EXIT_OK
    if problems:
        status = EXIT_OTHER
    elif coverage.missing_required:
        status = EXIT_REQUIRED_UNEVALUATED
    return _report(args, parts, coverage.to_dict(), status)


def _part(ok: bool, detail: str) -> dict[str, Any]:
    return {"ok": ok, "detail": detail}


def _report(
    args: argparse.Namespace,
    parts: dict[str, dict[str, Any]],
    coverage: dict[str, Any] | None,
    status: int,
) -> int:
    report = {"ok": status == EXIT_OK, "exit_status": status, "health": parts}
    report |= coverage or {"categories": [], "required_not_evaluated": []}
    emit(args, report, _human(report))
    return status


def _human(report: dict[str, Any]) -> str:
    lines = ["Health"]
    for name, part in report["health"].items():
        mark = "ok  " if part["ok"] else "FAIL"
        lines.append(f"  {mark}  {PARTS[name]:<15} {part['detail']}")
    lines.append("Moderation categories")
    shown: set[str] = set()  # an enabling step shared by several categories is printed once
    for row in report["categories"]:
        required = f" [required by {', '.join(row['required_by'])}]" if row["required_by"] else ""
        if row["evaluated"]:
            note = f" ({row['note']})" if row["note"] else ""
            lines.append(f"  evaluated      {row['category']:<30} {row['model']}{note}{required}")
        else:
            lines.append(f"  NOT evaluated  {row['category']:<30} {row['why']}{required}")
            if row["enable"]:
                step = "as above" if row["enable"] in shown else row["enable"]
                shown.add(row["enable"])
                lines.append(f"  {'':<14} {'':<30} to enable: {step}")
    missing = report["required_not_evaluated"]
    if missing:
        lines.append(
            f"Required but not evaluated (jobs go to review): {', '.join(missing)}; "
            f"exit status {EXIT_REQUIRED_UNEVALUATED}"
        )
    return "\n".join(lines)
