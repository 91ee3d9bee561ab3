"""Sign in and sign out: the login form at /login (fields `username` and `password`), a signed session
cookie on success, lockout after repeated failures (accounts.login), and a CSRF token on both forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import accounts, service
from sync.central.deps import DB, get_signer, principal_of
from sync.central.sessions import CSRF_COOKIE, SESSION_COOKIE, SESSION_SECONDS, new_nonce
from sync.central.web.common import checked_form, field, redirect, render, safe_next, set_cookie

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: DB, next: str = "/") -> Response:
    if principal_of(request, db) is not None and request.cookies.get(SESSION_COOKIE):
        return redirect(safe_next(next))
    return render(request, "login.html", None, {"next": safe_next(next), "username": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, db: DB, form: Form) -> Response:
    name, password = field(form, "username", 64), field(form, "password")
    target = safe_next(field(form, "next"))
    address = request.client.host if request.client else "unknown"
    now = service.now_utc()
    try:
        accounts.check_address(db, address, now)
        user = await run_in_threadpool(accounts.login, db, name, password, now)
    except accounts.LoginError as error:
        if "wrong name or password" in str(error):
            accounts.record_address_failure(db, address, now)
        context = {"next": target, "username": name, "error": str(error)}
        return render(request, "login.html", None, context, status=401)
    response = redirect(target)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        get_signer(request).session_cookie(user.name, user.session_epoch),
        SESSION_SECONDS,
    )
    # A fresh CSRF nonce for the signed-in browser (a token seen before login is worth nothing after).
    set_cookie(request, response, CSRF_COOKIE, new_nonce(), None)
    return response


@router.post("/logout")
def logout(request: Request, _form: Form) -> Response:
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
