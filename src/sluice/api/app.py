"""The server: a FastAPI app on uvicorn, with socket.io beside it (loaded on first use).

``create_app(settings)`` builds it; its lifespan opens the database (and migrates it),
the shared upstream session and the run registry, and closes them in reverse.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from sluice import __version__
from sluice.api.catalog import Catalog
from sluice.api.errors import install_error_handlers
from sluice.api.fastlane import FastLane
from sluice.api.limits import BodyLimitMiddleware
from sluice.api.routes import admin, chat, flowise, models, runs, web
from sluice.api.settings import Settings
from sluice.api.sockets import SocketIO
from sluice.api.state import ServerState
from sluice.api.turns import Turns
from sluice.flows.definitions import Definitions, load_definitions
from sluice.flows.state import FlowServices
from sluice.integrations.session import upstream_session
from sluice.providers.model import model_from_env
from sluice.runs import MemoryRunLog, RunRegistry
from sluice.store import Database

logger = logging.getLogger(__name__)

GC_THRESHOLDS = (5000, 20, 100)
"""The collector's thresholds while serving (Python's are 700, 10, 10). A thousand streams
starting keep a quarter of a million objects alive; with the defaults the collector ran
~1,200 times in S3, full collections ten times (pauses up to 180 ms), 1.3-1.7 s in all;
with these, ~160 times, one full collection, 0.6 s. Garbage without cycles is freed at
once either way; only cycles wait longer."""


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The whole server as one ASGI app (FastAPI behind socket.io's ``/socket.io/`` path)."""
    return build_app(settings or Settings.from_env())[0]


def build_app(settings: Settings) -> tuple[ASGIApp, FastAPI]:
    """The ASGI app to serve and the FastAPI app inside it (whose ``state.sluice`` holds
    the running server's state once its lifespan has started)."""
    definitions = load_definitions([settings.flows]) if settings.flows else Definitions()
    sockets: SocketIO  # in front of the app; made below, once the app is

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.database_url)
        try:
            await db.migrate()
            async with upstream_session() as session:
                default_model = model_from_env()
                services = FlowServices(
                    session,
                    integrations=definitions.integrations,
                    models=definitions.models,
                    default_model=default_model,
                )

                async def notify(chat_id: str, message: dict[str, Any]) -> None:
                    await sockets.emit("message", message, room=chat_id)

                turns = Turns(db, services, notify)
                log = MemoryRunLog(retention_s=settings.run_retention_s)
                async with RunRegistry(log, on_finished=turns.on_finished) as registry:
                    turns.registry = registry
                    catalog = Catalog(definitions, db, has_model=default_model is not None)
                    app.state.sluice = ServerState(
                        settings, db, catalog, services, turns, registry, sockets=sockets
                    )
                    logger.info("sluice %s serving (database %s)", __version__, db.url)
                    # What lives from start to stop (modules, routes, definitions) leaves
                    # the collector's generations: full collections then skip it.
                    gc.collect()
                    gc.freeze()
                    thresholds = gc.get_threshold()
                    gc.set_threshold(*GC_THRESHOLDS)
                    try:
                        yield
                    finally:
                        gc.set_threshold(*thresholds)
        finally:
            await db.close()

    app = FastAPI(
        title="Sluice",
        version=__version__,
        description="A streaming server for conversational AI.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (
        flowise.router,
        chat.router,
        runs.router,
        admin.router,
        admin.pages,
        models.router,
        web.router,
    ):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Run-Id"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    lane = FastLane(
        app, max_body_bytes=settings.max_body_bytes, has_cors=bool(settings.cors_origins)
    )
    sockets = SocketIO(lane, cors_origins=list(settings.cors_origins))
    return sockets, app
