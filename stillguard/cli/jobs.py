"""`stillguard run` and `stillguard extend`: whole jobs in this process."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from audit.records import DEFAULT_SURFACE
from generation import GenerationOptionError, GenerationOptions
from generation.backends import variation_options
from generation.options import MOTIONS, STYLES

from ..settings import Settings
from .output import EXIT_FOR_STATUS, UsageError, existing_file

# Timings print in the order the job went through the stages.
STAGE_TIMING_ORDER = ("input_gate", "generation", "label", "watermark", "fingerprint", "encode",
                      "frame_scan", "encode_and_scan", "output_gate", "sign", "verify", "audit",
                      "total")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add `run` and `extend`."""
    run = sub.add_parser("run", help="moderate, generate, check, label, sign and record one photo")
    run.add_argument("photo")
    run.add_argument("--prompt")
    run.add_argument("--out")
    run.add_argument("--duration", type=float)
    run.add_argument("--fps", type=int)
    run.add_argument("--size", help="WxH, e.g. 1280x720")
    run.add_argument("--motion", choices=MOTIONS)
    run.add_argument("--style", help=f"one of {', '.join(STYLES)}")
    run.add_argument("--no-audio", action="store_true")
    run.add_argument("--variations", type=int, default=1)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--surface",
        default=DEFAULT_SURFACE,
        help="whose policy packs decide the job (a surface with an active pack, e.g. teen)",
    )
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=cmd_run)

    extend = sub.add_parser("extend", help="a longer clip that continues a published job's motion")
    extend.add_argument("job_id")
    extend.add_argument("--duration", type=float, required=True, help="new length, seconds")
    extend.add_argument("--out", required=True)
    extend.add_argument("--json", action="store_true")
    extend.set_defaults(handler=cmd_extend)


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


def _variation_seeds(seed: int, variations: int) -> list[int]:
    """Each variation is its own moderated job with seed, seed+1, ... (the generator's rule)."""
    try:
        return [o.seed for o in variation_options(GenerationOptions(seed=seed), variations)]
    except GenerationOptionError as exc:
        raise UsageError(f"--{exc}") from exc


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run each variation as its own moderated, signed job; exit with the worst outcome."""
    from ..container import open_store
    from ..pipeline.local import LocalRunner
    from ..services.intake import JobRequest

    photo_path = existing_file(args.photo, "photo")
    seeds = _variation_seeds(args.seed, args.variations)
    outputs = _output_paths(photo_path, Path(args.out) if args.out else None, args.variations)
    photo = photo_path.read_bytes()
    show_progress = not args.json and sys.stderr.isatty()
    runner = LocalRunner(settings, open_store(settings), _progress if show_progress else None)
    reports = [
        runner.run(
            JobRequest(
                photo=photo,
                prompt=args.prompt,
                options=_options(args, seed),
                submitter="cli",
                surface=args.surface,
            ),
            out,
        ).to_dict()
        for seed, out in zip(seeds, outputs, strict=True)
    ]
    if args.json:
        print(
            json.dumps(reports[0] if len(reports) == 1 else {**reports[0], "variations": reports})
        )
    else:
        for report in reports:
            print(_run_summary(report))
    return max(EXIT_FOR_STATUS[r["status"]] for r in reports)


def cmd_extend(args: argparse.Namespace, settings: Settings) -> int:
    """A new job continuing a published one, run in this process."""
    from ..container import open_store
    from ..pipeline.local import LocalRunner
    from ..services.intake import extension_request

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"output directory {out.parent} does not exist")
    store = open_store(settings)
    runner = LocalRunner(
        settings, store, _progress if not args.json and sys.stderr.isatty() else None
    )
    request = extension_request(
        store, runner.deps.blobs, args.job_id, args.duration, submitter="cli"
    )
    report = runner.run(request, out).to_dict() | {"extends": args.job_id}
    print(json.dumps(report) if args.json else _run_summary(report))
    return EXIT_FOR_STATUS[report["status"]]


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
