"""Admin pages: users (add, disable, enable, reset a password, end sessions) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import accounts
from sync.central.db import stores
from sync.central.deps import DB, AdminPrincipal
from sync.central.directory import WEEKDAYS, load_directory, set_stores
from sync.central.service import CentralError
from sync.central.web.common import checked_form, field, redirect, render

router = APIRouter(prefix="/admin", include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]


def _users_page(
    request: Request, db: DB, principal: AdminPrincipal, message: str | None, status: int
) -> Response:
    with db.reading() as conn:
        store_ids = [r[0] for r in conn.execute(select(stores.c.id).order_by(stores.c.id))]
    groups = sorted(load_directory(db).groups.values(), key=lambda g: g.name)
    context = {
        "users": accounts.list_users(db),
        "groups": groups,
        "stores": store_ids,
        "message": message,
        "digest_choices": accounts.DIGEST_CHOICES,
    }
    return render(request, "users.html", principal, context, status)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: DB, principal: AdminPrincipal) -> Response:
    return _users_page(request, db, principal, None, 200)


@router.post("/users", response_class=HTMLResponse)
async def add_user(request: Request, db: DB, principal: AdminPrincipal, form: Form) -> Response:
    await run_in_threadpool(
        accounts.add_user,
        db,
        principal.name,
        field(form, "name", 64),
        field(form, "role", 16),
        field(form, "password"),
        group=field(form, "group", 64) or None,
        store=field(form, "store", 64) or None,
        email=field(form, "email", 254) or None,
        language=field(form, "language", 8) or "en",
    )
    return redirect("/admin/users")


@router.post("/users/{name}/{action}")
async def change_user(
    request: Request, name: str, action: str, db: DB, principal: AdminPrincipal, form: Form
) -> Response:
    if name == principal.name and action == "disable":
        raise CentralError(400, "you cannot disable yourself")
    if action == "disable":
        accounts.set_disabled(db, principal.name, name, True)
    elif action == "enable":
        accounts.set_disabled(db, principal.name, name, False)
    elif action == "digests":
        accounts.set_digests(db, principal.name, name, field(form, "digests", 8))
    elif action == "end-sessions":
        accounts.end_sessions(db, principal.name, name)
    elif action == "password":
        await run_in_threadpool(accounts.reset_password, db, principal.name, name, field(form, "password"))
    else:
        raise CentralError(404, f"no action {action!r}")
    return redirect("/admin/users")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, db: DB, principal: AdminPrincipal) -> Response:
    return render(request, "audit.html", principal, {"entries": accounts.audit_entries(db)})


@router.get("/stores", response_class=HTMLResponse)
def directory_page(request: Request, db: DB, principal: AdminPrincipal) -> Response:
    return _directory(request, db, principal, None, 200)


def _directory(
    request: Request, db: DB, principal: AdminPrincipal, message: str | None, status: int, source: str = ""
) -> Response:
    directory = load_directory(db)
    stores_list = sorted(directory.stores.values(), key=lambda s: s.name)
    groups = sorted(directory.groups.values(), key=lambda g: g.name)
    context = {
        "directory": directory,
        "stores": stores_list,
        "groups": groups,
        "message": message,
        "source": source,
        "weekdays": WEEKDAYS,
    }
    return render(request, "directory.html", principal, context, status)


@router.post("/stores", response_class=HTMLResponse)
def directory_submit(request: Request, db: DB, principal: AdminPrincipal, form: Form) -> Response:
    """The same file as `kiosk-central set-stores FILE`, pasted: checked whole, written in one go."""
    source = field(form, "directory", 2_000_000)
    try:
        groups, entries = set_stores(db, principal.name, source)
    except CentralError as error:
        return _directory(request, db, principal, str(error), 400, source)
    return _directory(request, db, principal, f"{groups} groups, {entries} stores set", 200)
