"""The FastAPI application of the reference central server (OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from kiosk import __version__
from sync.central.db import CentralDB
from sync.central.followups import purge_contacts
from sync.central.routers import admin, device, followups
from sync.central.service import CentralError, now_utc
from sync.central.settings import Settings, settings_from_env
from sync.central.web import phone

log = logging.getLogger(__name__)


async def retention_ticker(db: CentralDB, settings: Settings) -> None:
    """Delete expired contact details now and then (every process may: the delete is idempotent)."""
    while True:
        await asyncio.sleep(settings.retention_every_s)
        try:
            deleted = await run_in_threadpool(purge_contacts, db, now_utc(), settings.contact_retention_days)
            if deleted:
                log.info("retention: %d contact details deleted", deleted)
        except Exception:
            log.exception("retention of contact details failed; next try in %s s", settings.retention_every_s)


def create_app(settings: Settings, db: CentralDB | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if settings.retention_every_s > 0:
            task = asyncio.create_task(retention_ticker(app.state.db, settings))
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="kiosk-central",
        version=__version__,
        description="Reference head-office API of the feedback kiosk; see docs/sync-protocol.md.",
    )
    # A contact key that is not a Fernet key stops the server here (ContactKeyError), not at the first post.
    phone.contact_keys(settings)
    app.state.settings = settings
    app.state.db = db or CentralDB(settings.db_url)
    # Upload answers list every id: gzip makes them about half as large on the wire.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    app.include_router(device.router)
    app.include_router(admin.router)
    app.include_router(followups.device_router)
    app.include_router(followups.router)
    app.include_router(phone.router)

    @app.exception_handler(CentralError)
    async def central_error(_request: Request, error: CentralError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"detail": str(error)}, status_code=error.status, headers=headers)

    @app.get("/api/v1/health", tags=["health"], summary="Liveness: the server answers")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def create_app_from_env() -> FastAPI:
    """The app for `kiosk-central serve --workers N`: each worker process builds its own from the env."""
    max_batch = os.environ.get("KIOSK_CENTRAL_MAX_BATCH")
    settings = settings_from_env(os.environ["KIOSK_CENTRAL_DB"])
    if max_batch:
        settings = replace(settings, max_batch=int(max_batch))
    return create_app(settings)
