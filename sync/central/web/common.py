"""What every HTML route shares: the templates, rendering with the CSRF token and the language, the CSRF
check of posted forms, and safe redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from sync.central import service
from sync.central.deps import Principal, get_db, get_signer, session_user
from sync.central.service import CentralError
from sync.central.sessions import CSRF_COOKIE, CSRF_FIELD, new_nonce
from sync.central.settings import Settings
from sync.central.web import i18n

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.globals["static_version"] = "2"
# The choices of `users.digests` as a reader names them (translated in the page's language).
TEMPLATES.env.globals["digest_labels"] = {
    "both": "Daily and weekly",
    "daily": "Daily only",
    "weekly": "Weekly only",
    "none": "None",
}
# Scripts, styles, images and fonts only from this server: no CDN, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)


def secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.secure_cookies or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request), path="/"
    )


def language(request: Request, principal: Principal | None) -> str:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    if principal is not None and principal.language in i18n.LANGUAGES:
        return principal.language
    return i18n.from_header(request.headers.get("accept-language", ""))


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    lang = language(request, principal)
    values = {
        "principal": principal,
        "csrf_field": CSRF_FIELD,
        "csrf_token": get_signer(request).csrf_token(nonce, principal.name if principal else ""),
        "lang": lang,
        "_": i18n.translator(lang),
        "fmt": i18n.Formatter(lang),
        "path": request.url.path,
        "now": service.now_utc(),
        "query": dict(request.query_params),
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != nonce:
        set_cookie(request, response, CSRF_COOKIE, nonce, None)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's nonce and user (else 403)."""
    form = await request.form()
    user = session_user(request, get_db(request))
    token = form.get(CSRF_FIELD)
    if not get_signer(request).csrf_ok(
        request.cookies.get(CSRF_COOKIE), user.name if user else "", token if isinstance(token, str) else None
    ):
        raise CentralError(403, "the form's security token is missing or out of date: reload the page")
    return form


def field(form: FormData, name: str, limit: int = 1024) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise CentralError(400, f"{name}: at most {limit} characters")
    return value.strip() if name != "password" else value


def safe_next(target: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
