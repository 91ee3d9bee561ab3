"""The FastAPI application of the reference central server (OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from kiosk import __version__
from sync.central.alerts import AlertError
from sync.central.db import CentralDB
from sync.central.deps import LoginRequired
from sync.central.followups import purge_contacts
from sync.central.notify import Background, ChannelNotifier, Notifier
from sync.central.routers import admin, alerts, device, enrol, followups, reports
from sync.central.service import CentralError, now_utc
from sync.central.sessions import Signer
from sync.central.settings import Settings, secret_key_for, settings_from_env
from sync.central.web import phone
from sync.protocol import PROTOCOL_VERSION

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().with_name("static")


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


# Swagger UI, vendored with its licence (static/swagger-ui-*/README.md says where from).
SWAGGER_UI = "swagger-ui-5.35.0"
SWAGGER_DIR = STATIC / SWAGGER_UI
SWAGGER_URL = f"/docs/{SWAGGER_UI}"
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}


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


def create_app(settings: Settings, db: CentralDB | None = None, notifier: Notifier | None = None) -> FastAPI:
    """The app; with `settings.background` its lifespan also runs the delivery worker and the alert ticker
    (`notifier`: the adapter they send with; by default the real channels with these settings)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = None
        if settings.background:
            background = Background(app.state.db, notifier or ChannelNotifier(settings), settings).start()
        app.state.background = background
        task = None
        if settings.retention_every_s > 0:
            task = asyncio.create_task(retention_ticker(app.state.db, settings))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            if background is not None:
                background.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="kiosk-central",
        version=__version__,
        description="Reference head-office API of the feedback kiosk; see docs/sync-protocol.md.",
        # /docs is served below from vendored files: the default loads Swagger UI from a CDN, and a
        # head-office network without Internet access got a blank page.
        docs_url=None,
        redoc_url=None,
    )
    if not settings.secret_key:
        settings = replace(settings, secret_key=secret_key_for(settings.db_url))
    # A contact key that is not a Fernet key stops the server here (ContactKeyError), not at the first post.
    phone.contact_keys(settings)
    app.state.settings = settings
    app.state.db = db or CentralDB(settings.db_url)
    app.state.signer = Signer(settings.secret_key)
    # Upload answers list every id: gzip makes them about half as large on the wire.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    app.include_router(device.router)
    app.include_router(admin.router)
    app.include_router(reports.router)
    app.include_router(enrol.router)
    # The head-office pages (imported here: the device API does not need Jinja2 to start).
    from sync.central.web import admin as web_admin
    from sync.central.web import auth as web_auth
    from sync.central.web.common import redirect, render

    app.include_router(web_auth.router)
    app.include_router(web_admin.router)
    from sync.central.web import pages as web_pages

    app.include_router(web_pages.router)
    from sync.central.web import configs as web_configs

    app.include_router(web_configs.router)
    app.include_router(web_configs.api)
    from sync.central.web import exports as web_exports

    app.include_router(web_exports.router)
    from sync.central.web import account as web_account
    from sync.central.web import inbox as web_inbox
    from sync.central.web import rules as web_rules

    app.include_router(web_account.router)

    app.include_router(web_rules.router)
    app.include_router(web_rules.api)
    app.include_router(web_inbox.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(alerts.router)
    app.include_router(followups.device_router)
    app.include_router(followups.router)
    app.include_router(phone.router)

    @app.exception_handler(CentralError)
    async def central_error(request: Request, error: CentralError) -> Response:
        if _is_page(request):
            # The web routes answer errors in HTML (principal None: the page shows no user menu).
            context = {"status": error.status, "message": str(error)}
            return render(request, "error.html", None, context, status=error.status)
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        # `protocol` marks the reply as central's own: a proxy's or firewall's 401/403 has no such body, and
        # only central's stops a kiosk's uploads.
        return JSONResponse(
            {"detail": str(error), "protocol": PROTOCOL_VERSION}, status_code=error.status, headers=headers
        )

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

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return redirect(f"/login?next={quote(target, safe='')}")

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
    settings = settings_from_env(os.environ["KIOSK_CENTRAL_DB"], background=True)
    if max_batch:
        settings = replace(settings, max_batch=int(max_batch))
    return create_app(settings)
