"""The phone page `/r/<token>`: what a shopper opens from the kiosk's QR code (HTML, no JavaScript).

GET shows the form in the language of the visit; POST (urlencoded, to the same URL) stores one follow-up
per visit. Every refusal is a page saying why, in the shopper's language: a link not valid (404), expired
(410), already used (409 on a post), too many tries (429), a form that must be reloaded (403), a form with
mistakes (400, shown again with what was typed). Nothing is stored for any of them.

Cross-site posts: the token in the URL is the capability (a site that does not know it cannot post for
it), and on top of that a post must carry the nonce the form was served with (HMAC under the device's key,
bound to the token, a few hours valid) and must not come from another origin (`Origin` / `Sec-Fetch-Site`).
The page has no cookie, so there is no session to ride on; `Referrer-Policy: same-origin` keeps the token
out of other sites' logs, and the CSP forbids scripts, frames and posting elsewhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from sync.central import followups as fu
from sync.central.deps import DB, AppSettings
from sync.central.personal import MAX_NAME, ContactKeys
from sync.central.service import CentralError, now_utc, parse_store_config, store_config
from sync.central.settings import Settings
from sync.central.web.i18n import LANGUAGES
from sync.central.web.texts import pick_language, texts

router = APIRouter(tags=["follow-up phone page"], include_in_schema=False)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# 2000 characters of emoji, percent-encoded, are 24 KB: room for any form the page can send.
MAX_FORM_BYTES = 64 * 1024
HEADERS = {
    "Cache-Control": "no-store",
    # same-origin: the token never leaves in a Referer to another site, and a post to ourselves still carries
    # its Origin (with no-referrer, Chromium sends `Origin: null`, which proves nothing).
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
}
# Refusal reason -> (HTTP status, title key, message key).
REFUSALS = {
    "malformed": (404, "invalid_title", "invalid"),
    "forged": (404, "invalid_title", "invalid"),
    "expired": (410, "expired_title", "expired"),
    "used": (409, "used_title", "used"),
    "limited": (429, "limited_title", "limited"),
    "stale": (403, "stale_title", "stale"),
    "contact_disabled": (400, "stale_title", "contact_disabled"),
    "too_large": (413, "stale_title", "too_large"),
}


def contact_keys(settings: Settings) -> ContactKeys | None:
    """The configured contact keys (checked when the app is made: `create_app`)."""
    return _keys(settings.contact_keys) if settings.contact_keys else None


@functools.lru_cache(maxsize=8)
def _keys(keys: tuple[str, ...]) -> ContactKeys:
    return ContactKeys(keys)


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the peer's, or, when the peer is a configured trusted proxy, the last address
    of X-Forwarded-For that is not itself a trusted proxy (the earlier ones are the client's to forge)."""
    peer = request.client.host if request.client else "unknown"
    if not settings.trusted_proxies or not _trusted(peer, settings.trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, settings.trusted_proxies):
            return hop
    return peer


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def _render(status: int, lang: str, **context: Any) -> HTMLResponse:
    t = texts(lang)
    html = TEMPLATES.get_template("phone.html").render(lang=lang, t=t, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def refusal(reason: str, lang: str, retry_after: int | None = None) -> HTMLResponse:
    status, title, message = REFUSALS[reason]
    t = texts(lang)
    response = _render(status, lang, page="notice", heading=t[title], message=t[message], extra=None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _store_name(db: Any, store_id: str) -> str:
    found = store_config(db, store_id)
    if found is not None:
        try:
            return parse_store_config(found[0]).store.name or store_id
        except CentralError:
            pass
    return store_id


def _consent_text(lang: str, store: str, settings: Settings) -> str:
    return texts(lang)["consent"].format(store=store, days=settings.contact_retention_days)


def _form_page(
    status: int,
    visit: fu.Visit,
    token: str,
    settings: Settings,
    store: str,
    now: dt.datetime,
    form: fu.Form | None = None,
    problems: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = visit.language if visit.language in LANGUAGES else "en"
    return _render(
        status,
        lang,
        page="form",
        heading=texts(lang)["title"],
        store=store,
        nonce=fu.form_nonce(visit, token, now),
        form=form or fu.Form(),
        problems=problems or {},
        contacts=bool(settings.contact_keys),
        consent_text=_consent_text(lang, store, settings),
        max_comment=fu.MAX_COMMENT,
        max_name=MAX_NAME,
    )


def _limited(db: Any, request: Request, settings: Settings, now: dt.datetime) -> bool:
    bucket = fu.address_bucket(contact_keys(settings), client_address(request, settings))
    return not fu.hit(db, bucket, fu.ADDRESS_WINDOW_S, settings.followup_limit_per_address, now)


@router.get("/r/{token}", response_class=HTMLResponse)
def show_form(token: str, request: Request, db: DB, settings: AppSettings) -> HTMLResponse:
    now = now_utc()
    guess = pick_language(request.headers.get("accept-language"))
    if _limited(db, request, settings, now):
        return refusal("limited", guess, fu.ADDRESS_WINDOW_S)
    try:
        visit = fu.resolve_token(db, token, now)
    except fu.Refused as refused:
        return refusal(refused.reason, _language(refused.language, guess))
    lang = _language(visit.language, guess)
    if fu.already_answered(db, visit):
        t = texts(lang)
        return _render(200, lang, page="notice", heading=t["used_title"], message=t["used"], extra=None)
    return _form_page(200, visit, token, settings, _store_name(db, visit.store_id), now)


@router.post("/r/{token}", response_class=HTMLResponse)
async def post_form(token: str, request: Request, db: DB, settings: AppSettings) -> HTMLResponse:
    now = now_utc()
    guess = pick_language(request.headers.get("accept-language"))
    if await run_in_threadpool(_limited, db, request, settings, now):
        return refusal("limited", guess, fu.ADDRESS_WINDOW_S)
    try:
        visit = await run_in_threadpool(fu.resolve_token, db, token, now)
    except fu.Refused as refused:
        return refusal(refused.reason, _language(refused.language, guess))
    lang = _language(visit.language, guess)
    allowed = await run_in_threadpool(
        fu.hit, db, fu.token_bucket(token), fu.TOKEN_WINDOW_S, settings.followup_limit_per_token, now
    )
    if not allowed:
        return refusal("limited", lang, fu.TOKEN_WINDOW_S)
    if _cross_site(request, settings):
        return refusal("stale", lang)
    fields = await _read_form(request)
    if fields is None:
        return refusal("too_large", lang)
    form = fu.Form(
        comment=fields.get("comment", ""),
        name=fields.get("name", ""),
        contact=fields.get("contact", ""),
        consent=fields.get("consent", "") not in ("", "no", "off", "false"),
    )
    if not fu.check_nonce(visit, token, fields.get("nonce", ""), now):
        return refusal("stale", lang)
    if await run_in_threadpool(fu.already_answered, db, visit):
        return refusal("used", lang)  # even with mistakes in the form: there is nothing left to correct
    store = await run_in_threadpool(_store_name, db, visit.store_id)
    keys = contact_keys(settings)
    try:
        checked = fu.check_form(form, keys is not None)
    except fu.FormProblems as problems:
        return _form_page(400, visit, token, settings, store, now, form, problems.problems)
    try:
        await run_in_threadpool(
            fu.submit, db, keys, visit, checked, _consent_text(lang, store, settings), now
        )
    except fu.Refused as refused:
        return refusal(refused.reason, lang)
    t = texts(lang)
    extra = t["thanks_contact"] if checked.contact else None
    return _render(200, lang, page="notice", heading=t["thanks_title"], message=t["thanks"], extra=extra)


def _language(wanted: str | None, fallback: str) -> str:
    return wanted if wanted in LANGUAGES else fallback


def _cross_site(request: Request, settings: Settings) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False  # none (older browsers) or opaque: proves nothing either way; the nonce still holds
    allowed = {_origin(str(request.base_url))}
    if settings.public_url:
        allowed.add(_origin(settings.public_url))
    return _origin(origin) not in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form's fields (first value of each), or None when the body is too large."""
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", "replace")
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=20)
    except ValueError:  # more fields than the form has: not our form
        return None
    return {key: values[0] for key, values in parsed.items() if values}
