"""The HTTP API: thin routers that validate, authorise, call a service and shape the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from ..container import build_deps, open_store
from ..pipeline.embedded import BackgroundRelay
from ..services.checkpoints import CheckpointScheduler
from ..settings import Settings
from . import console
from .deps import Services
from .errors import install_error_handlers, use_error_schema_for_validation
from .middleware import BodySizeLimit, RequestIds, RequestMetrics
from .routes import (
    admin,
    audit,
    health,
    jobs,
    moderation,
    pages,
    provenance,
    review_media,
    reviews,
    webhooks,
)

ROUTERS = tuple(
    module.router
    for module in (
        health,
        jobs,
        audit,
        provenance,
        reviews,
        review_media,
        moderation,
        admin,
        webhooks,
        pages,
        console,
    )
)
DESCRIPTION = (
    "Moderated, labelled, C2PA-signed photo-to-video clips. Keys go in "
    '`Authorization: Bearer ...`; errors are `{"error": {"code", "message", "request_id"}}`; '
    "every answer names its request in `X-Request-ID` (a sane one sent is kept)."
)


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app; with no Kafka configured the stages run in a background thread."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        deps = build_deps(settings, store)
        backend = None
        if settings.kafka_bootstrap:
            from streams.kafka import KafkaBackend

            backend = KafkaBackend(settings.kafka_bootstrap, client_id="stillguard-api")
            backend.ensure_topics()
            relay = BackgroundRelay(deps, backend.publish, batch=32)
        else:
            # every stage in this process, fed by the outbox; jobs' stages overlap
            relay = BackgroundRelay(deps, threads=settings.stage_threads)
        app.state.services = Services(settings, store, deps.blobs, deps)
        checkpoints = CheckpointScheduler(store, settings, lambda: deps.authority)
        try:
            yield
        finally:
            checkpoints.close()
            relay.close()
            if backend is not None:
                backend.close()
            store.close()

    app = FastAPI(
        title="Stillguard", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestIds)  # added last, so outermost: every answer carries its id
    install_error_handlers(app)
    use_error_schema_for_validation(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
