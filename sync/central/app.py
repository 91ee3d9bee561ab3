"""The FastAPI application of the reference central server (OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.gzip import GZipMiddleware

from kiosk import __version__
from sync.central.db import CentralDB
from sync.central.routers import admin, device
from sync.central.service import CentralError
from sync.central.settings import Settings
from sync.protocol import PROTOCOL_VERSION


def create_app(settings: Settings, db: CentralDB | None = None) -> FastAPI:
    app = FastAPI(
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

    @app.exception_handler(CentralError)
    async def central_error(_request: Request, error: CentralError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        # `protocol` marks the reply as central's own: a proxy's or firewall's 401/403 has no such body, and
        # only central's stops a kiosk's uploads.
        return JSONResponse(
            {"detail": str(error), "protocol": PROTOCOL_VERSION}, status_code=error.status, headers=headers
        )

    @app.get("/api/v1/health", tags=["health"], summary="Liveness: the server answers")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def create_app_from_env() -> FastAPI:
    """The app for `kiosk-central serve --workers N`: each worker process builds its own from the env."""
    max_batch = os.environ.get("KIOSK_CENTRAL_MAX_BATCH")
    settings = Settings(db_url=os.environ["KIOSK_CENTRAL_DB"])
    if max_batch:
        settings = Settings(db_url=settings.db_url, max_batch=int(max_batch))
    return create_app(settings)
