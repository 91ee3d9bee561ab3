"""The signed-in user's own page (`/account`): who they are, their scope, and which digests they get by mail
(both, daily, weekly or none), changed through a CSRF form and recorded in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from sync.central import accounts
from sync.central.deps import DB, PagePrincipal
from sync.central.service import CentralError
from sync.central.web.common import checked_form, field, redirect, render

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, db: DB, principal: PagePrincipal) -> Response:
    user = accounts.get_user(db, principal.name)
    if user is None:
        raise CentralError(404, "no such user")
    saved = request.query_params.get("saved") == "1"
    context = {"user": user, "choices": accounts.DIGEST_CHOICES, "saved": saved}
    return render(request, "account.html", principal, context)


@router.post("/account/digests")
def set_digests(request: Request, db: DB, principal: PagePrincipal, form: Form) -> Response:
    accounts.set_digests(db, principal.name, principal.name, field(form, "digests", 8))
    return redirect("/account?saved=1")
