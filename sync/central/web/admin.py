"""Admin pages: users (add, disable, enable, reset a password, end sessions), the audit log and the store
directory (a file pasted whole, or one store or group edited in a form)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import accounts
from sync.central.db import stores
from sync.central.deps import DB, AdminPrincipal
from sync.central.directory import (
    TARGETS,
    WEEKDAYS,
    DirectoryFileError,
    entry_file,
    hours_text,
    load_directory,
    set_stores,
)
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


# -- one store or group in a form: written as a one-entry directory file and checked like `set-stores` --------

_FORM_TEXTS = {"stores": "Store", "groups": "Group"}


def _form_values(kind: str, form: FormData) -> dict[str, Any]:
    """The entry's table from the form: empty fields are left out (a target left empty follows the group)."""

    def target(name: str) -> float | str | None:
        text = field(form, f"target_{name}", 16).replace(",", ".").replace("\u2212", "-").replace(" ", "")
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return text  # refused by the file's own check, which names the field

    values: dict[str, Any] = {"name": field(form, "name", 200)}
    targets = {k: v for k in TARGETS if (v := target(k)) is not None}
    if kind == "groups":
        values["parent"] = field(form, "parent", 64) or None
    else:
        values["group"] = field(form, "group", 64) or None
        values["timezone"] = field(form, "timezone", 64)
        values["opening_hours"] = {day: field(form, f"hours_{day}", 200) or "closed" for day in WEEKDAYS}
        days = field(form, "closed_days", 4000).replace(",", " ").split()
        values["closed_days"] = days
    values["targets"] = targets
    return values


def _entry_form(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    kind: str,
    entry_id: str | None,
    values: dict[str, Any],
    message: str | None = None,
    status: int = 200,
) -> Response:
    directory = load_directory(db)
    groups = sorted(directory.groups.values(), key=lambda g: g.name)
    context = {
        "kind": kind,
        "entry_id": entry_id,
        "values": values,
        "groups": [g for g in groups if kind == "stores" or g.id != entry_id],
        "weekdays": WEEKDAYS,
        "message": message,
        "what": _FORM_TEXTS[kind],
    }
    return render(request, "directory_entry.html", principal, context, status)


def _kind(kind: str) -> str:
    if kind not in _FORM_TEXTS:
        raise CentralError(404, f"no such page: /admin/{kind}")
    return kind


@router.get("/{kind}/new", response_class=HTMLResponse)
def new_entry(request: Request, kind: str, db: DB, principal: AdminPrincipal) -> Response:
    values: dict[str, Any] = {"timezone": "Europe/Paris", "hours": {}, "targets": {}}
    return _entry_form(request, db, principal, _kind(kind), None, values)


@router.get("/{kind}/{entry_id}/edit", response_class=HTMLResponse)
def edit_entry(request: Request, kind: str, entry_id: str, db: DB, principal: AdminPrincipal) -> Response:
    directory = load_directory(db)
    values: dict[str, Any]
    if _kind(kind) == "stores":
        store = directory.stores.get(entry_id)
        if store is None:
            raise CentralError(404, f"no store {entry_id!r} in the directory")
        values = {
            "name": store.name,
            "group": store.group_id or "",
            "timezone": store.timezone,
            "hours": {day: hours_text(store.opening_hours.get(i, [])) for i, day in enumerate(WEEKDAYS)},
            "closed_days": " ".join(store.closed_days),
            "targets": store.targets,
        }
    else:
        group = directory.groups.get(entry_id)
        if group is None:
            raise CentralError(404, f"no group {entry_id!r} in the directory")
        values = {"name": group.name, "parent": group.parent_id or "", "targets": group.targets}
    return _entry_form(request, db, principal, kind, entry_id, values)


@router.post("/{kind}/save", response_class=HTMLResponse)
def save_entry(request: Request, kind: str, db: DB, principal: AdminPrincipal, form: Form) -> Response:
    """A store or group saved from its form: the same checks and the same audit entry as a loaded file."""
    entry_id = field(form, "id", 64)
    existing = field(form, "existing", 64) or None
    values = _form_values(_kind(kind), form)
    shown = {
        **values,
        "hours": {day: field(form, f"hours_{day}", 200) for day in WEEKDAYS},
        "closed_days": field(form, "closed_days", 4000),
        "targets": {k: field(form, f"target_{k}", 16) for k in TARGETS},
    }
    try:
        if existing is not None and entry_id != existing:
            raise CentralError(400, "id: an entry's id cannot change (add a new one instead)")
        if not entry_id:
            raise CentralError(400, "id: required")
        set_stores(db, principal.name, entry_file(kind, entry_id, values))
    except DirectoryFileError as error:
        # "stores.lyon.timezone: unknown time zone" -> "timezone: unknown time zone": the form's own field.
        problem = error.problem.removeprefix(f"{kind}.{entry_id}.")
        return _entry_form(request, db, principal, kind, existing, {**shown, "id": entry_id}, problem, 400)
    except CentralError as error:
        return _entry_form(request, db, principal, kind, existing, {**shown, "id": entry_id}, str(error), 400)
    return redirect("/admin/stores")
