"""The FastAPI application of the reference central server (OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.gzip import GZipMiddleware

from kiosk import __version__
from sync.central.alerts import AlertError
from sync.central.db import CentralDB
from sync.central.notify import Background, ChannelNotifier, Notifier
from sync.central.routers import admin, alerts, device
from sync.central.service import CentralError
from sync.central.settings import Settings, alert_settings_from_env


def create_app(settings: Settings, db: CentralDB | None = None, notifier: Notifier | None = None) -> FastAPI:
    """The app; with `settings.background` its lifespan also runs the delivery worker and the alert ticker
    (`notifier`: the adapter they send with; by default the real channels with these settings)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = None
        if settings.background:
            background = Background(app.state.db, notifier or ChannelNotifier(settings), settings).start()
        app.state.background = background
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="kiosk-central",
        version=__version__,
        description="Reference head-office API of the feedback kiosk; see docs/sync-protocol.md.",
    )
    app.state.settings = settings
    app.state.db = db or CentralDB(settings.db_url)
    # Upload answers list every id: gzip makes them about half as large on the wire.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    app.include_router(device.router)
    app.include_router(admin.router)
    app.include_router(alerts.router)

    @app.exception_handler(CentralError)
    async def central_error(_request: Request, error: CentralError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"detail": str(error)}, status_code=error.status, headers=headers)

    @app.exception_handler(AlertError)
    async def alert_error(_request: Request, error: AlertError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @app.get("/api/v1/health", tags=["health"], summary="Liveness: the server answers")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def create_app_from_env() -> FastAPI:
    """The app for `kiosk-central serve --workers N`: each worker process builds its own from the env."""
    max_batch = os.environ.get("KIOSK_CENTRAL_MAX_BATCH")
    extra: dict[str, Any] = {"max_batch": int(max_batch)} if max_batch else {}
    settings = Settings(
        db_url=os.environ["KIOSK_CENTRAL_DB"], background=True, **extra, **alert_settings_from_env()
    )
    return create_app(settings)
