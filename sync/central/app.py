"""The FastAPI application of the reference central server (OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.middleware.gzip import GZipMiddleware

from kiosk import __version__
from sync.central.db import CentralDB
from sync.central.routers import admin, device
from sync.central.service import CentralError
from sync.central.settings import Settings

# Swagger UI, vendored with its licence (static/swagger-ui-*/README.md says where from).
SWAGGER_UI = "swagger-ui-5.35.0"
SWAGGER_DIR = Path(__file__).with_name("static") / SWAGGER_UI
SWAGGER_URL = f"/docs/{SWAGGER_UI}"
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}


def create_app(settings: Settings, db: CentralDB | None = None) -> FastAPI:
    app = FastAPI(
        title="kiosk-central",
        version=__version__,
        description="Reference head-office API of the feedback kiosk; see docs/sync-protocol.md.",
        # /docs is served below from vendored files: the default loads Swagger UI from a CDN, and a
        # head-office network without Internet access got a blank page.
        docs_url=None,
        redoc_url=None,
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
        return JSONResponse({"detail": str(error)}, status_code=error.status, headers=headers)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="kiosk-central API",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
        )

    @app.get(SWAGGER_URL + "/{name}", include_in_schema=False)
    def swagger_file(name: str) -> FileResponse:
        if name not in SWAGGER_FILES:
            raise CentralError(404, f"no {name} here")
        return FileResponse(SWAGGER_DIR / name, media_type=SWAGGER_FILES[name])

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
