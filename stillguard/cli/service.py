"""`stillguard serve` and `stillguard worker`: the long-running processes."""

from __future__ import annotations

import argparse

from ..pipeline.stages import WORKER_STAGES
from ..settings import Settings
from .output import EXIT_OK, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and `worker`."""
    serve = sub.add_parser("serve", help="HTTP API; stages run in-process without Kafka")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="one stage as a Kafka consumer group member")
    worker.add_argument("stage", choices=WORKER_STAGES)
    worker.add_argument(
        "--metrics-port", type=int, help="serve Prometheus /metrics on this port (0: off)"
    )
    worker.set_defaults(handler=cmd_worker)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API until interrupted."""
    import uvicorn

    from ..api import create_app
    from ..observability import configure

    configure(settings, "stillguard-serve")
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level="info", log_config=None
    )
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run one stage as a Kafka consumer until SIGTERM."""
    from ..metrics import serve_metrics
    from ..observability import configure
    from ..pipeline.worker import run_worker

    if not settings.kafka_bootstrap:
        raise UsageError("worker needs STILLGUARD_KAFKA_BOOTSTRAP (Kafka bootstrap servers)")
    configure(settings, f"stillguard-{args.stage}")
    if args.metrics_port:
        serve_metrics(args.metrics_port)
    run_worker(settings, args.stage)
    return EXIT_OK
