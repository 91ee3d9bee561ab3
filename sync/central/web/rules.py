"""The alert rules page (`/alerts/rules`): list, create, edit, mute for some days and delete rules through
forms with a CSRF token, checked by the same code as `kiosk-central set-alerts FILE` (one problem per line,
naming the field), every change in the audit log.

Admins edit every rule; a manager edits the rules whose stores all lie in their scope (no "*") and reads
the others that watch one of their stores; a viewer reads. Admins also get the rules as an alerts file
(`/alerts/rules/export`, the same as `kiosk-central alerts export`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import rule_edits, service
from sync.central.alert_rules import DEVICE_CHECKS, INDICES, KINDS
from sync.central.deps import DB, AdminPrincipal, ApiPrincipal, PagePrincipal, Principal
from sync.central.rule_edits import RuleNotFound, RuleProblems
from sync.central.service import CentralError
from sync.central.web.common import checked_form, field, redirect, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["alerts"])
Form = Annotated[FormData, Depends(checked_form)]
FIELDS = (*rule_edits.TEXTS, *rule_edits.NUMBERS, *rule_edits.LISTS)
# The numbers the form lays out by kind; any other (a parameter added later) is listed under "Other".
LAID_OUT = {
    "share",
    "window_minutes",
    "min_answers",
    "fewer_than",
    "more_than",
    "below",
    "minutes",
    "free_disk_mb",
    "seconds",
    "hours",
    "clear_minutes",
}


def _may_edit(principal: Principal) -> bool:
    return principal.role in ("admin", "manager")


def _editor(principal: Principal) -> None:
    if not _may_edit(principal):
        raise CentralError(403, "a viewer reads the alert rules; an admin or a manager changes them")


def _rows(db: DB, principal: Principal) -> list[dict[str, Any]]:
    with db.reading() as conn:
        found = []
        for stored in rule_edits.stored_rules(conn):
            entries = stored.definition.get("stores") or ["*"]
            if not rule_edits.touches(conn, entries, principal.visible):
                continue
            editable = _may_edit(principal) and rule_edits.store_entries_within(
                conn, entries, principal.visible
            )
            found.append({"stored": stored, "editable": editable, "toml": _toml(stored.definition)})
    return found


def _toml(definition: dict[str, Any]) -> str:
    return "\n".join(
        f"{rule_edits.toml_key(k)} = {rule_edits.toml_value(v)}"
        for k, v in definition.items()
        if k not in ("name",)
    )


def _list(
    request: Request,
    db: DB,
    principal: Principal,
    message: str | None = None,
    problems: list[str] | None = None,
) -> Response:
    context = {
        "rules": _rows(db, principal),
        "may_edit": _may_edit(principal),
        "message": message,
        "problems": problems or [],
        "today": service.now_utc().date().isoformat(),
    }
    return render(request, "alert_rules.html", principal, context, 400 if problems else 200)


def _form(
    request: Request,
    principal: Principal,
    values: dict[str, str],
    editing: str | None,
    problems: list[str] | None = None,
) -> Response:
    context = {
        "values": values,
        "editing": editing,
        "problems": problems or [],
        "kinds": KINDS,
        "indices": INDICES,
        "checks": DEVICE_CHECKS,
        "other_numbers": [n for n in rule_edits.NUMBERS if n not in LAID_OUT],
    }
    return render(request, "alert_rule.html", principal, context, 400 if problems else 200)


@api.get("/alert-rules", summary="The alert rules of the reader's scope, as the rules page lists them")
def rules_json(db: DB, principal: ApiPrincipal) -> list[dict[str, Any]]:
    return [
        {
            "name": row["stored"].name,
            "kind": row["stored"].kind,
            "source": row["stored"].source,
            "updated_at": row["stored"].updated_at,
            "valid": row["stored"].rule is not None,
            "editable": row["editable"],
            "definition": _jsonable(row["stored"].definition),
        }
        for row in _rows(db, principal)
    ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@router.get("/alerts/rules", response_class=HTMLResponse)
def rules_page(request: Request, db: DB, principal: PagePrincipal) -> Response:
    return _list(request, db, principal)


@router.get("/alerts/rules/export", response_class=PlainTextResponse)
def export(db: DB, principal: AdminPrincipal) -> Response:
    with db.reading() as conn:
        text = rule_edits.export_text(conn, service.now_utc())
    return PlainTextResponse(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="alerts.toml"', "Cache-Control": "no-store"},
    )


@router.get("/alerts/rules/new", response_class=HTMLResponse)
def new_rule(request: Request, principal: PagePrincipal) -> Response:
    _editor(principal)
    return _form(request, principal, {"kind": "negative_share"}, None)


@router.get("/alerts/rules/{name}/edit", response_class=HTMLResponse)
def edit_rule(request: Request, name: str, db: DB, principal: PagePrincipal) -> Response:
    _editor(principal)
    with db.reading() as conn:
        try:
            stored = rule_edits.stored_rule(conn, name)
        except RuleNotFound:
            raise CentralError(404, "no such rule") from None
        if not rule_edits.store_entries_within(
            conn, stored.definition.get("stores") or ["*"], principal.visible
        ):
            raise CentralError(403, "this rule watches stores outside your scope")
    return _form(request, principal, rule_edits.form_from_definition(stored.definition), name)


def _values(form: FormData) -> dict[str, str]:
    return {name: field(form, name, 20_000) for name in FIELDS}


async def _save(
    request: Request, db: DB, principal: Principal, form: FormData, replacing: str | None
) -> Response:
    _editor(principal)
    values = _values(form)
    try:
        await run_in_threadpool(
            rule_edits.save_rule,
            db,
            principal.name,
            rule_edits.definition_from_form(values),
            service.now_utc(),
            replacing,
            principal.visible,
            not principal.is_admin,
        )
    except RuleProblems as error:
        return _form(request, principal, values, replacing, error.problems)
    except RuleNotFound:
        raise CentralError(404, "no such rule") from None
    return redirect("/alerts/rules")


@router.post("/alerts/rules")
async def create(request: Request, db: DB, principal: PagePrincipal, form: Form) -> Response:
    return await _save(request, db, principal, form, None)


@router.post("/alerts/rules/{name}/edit")
async def update(request: Request, name: str, db: DB, principal: PagePrincipal, form: Form) -> Response:
    return await _save(request, db, principal, form, name)


def _day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RuleProblems([f"mute.{name}: a day written 2026-12-24, not {text!r}"]) from None


@router.post("/alerts/rules/{name}/mute")
def mute(request: Request, name: str, db: DB, principal: PagePrincipal, form: Form) -> Response:
    _editor(principal)
    try:
        start = _day(field(form, "from", 10), "from")
        end = _day(field(form, "to", 10) or start.isoformat(), "to")
        rule_edits.mute_rule(db, principal.name, name, start, end, service.now_utc(), principal.visible)
    except RuleProblems as error:
        return _list(request, db, principal, problems=[f"{name}: {p}" for p in error.problems])
    except RuleNotFound:
        raise CentralError(404, "no such rule") from None
    return redirect("/alerts/rules")


@router.post("/alerts/rules/{name}/delete")
def delete(request: Request, name: str, db: DB, principal: PagePrincipal, form: Form) -> Response:
    _editor(principal)
    try:
        rule_edits.delete_rule(db, principal.name, name, service.now_utc(), principal.visible)
    except RuleProblems as error:
        raise CentralError(403, error.problems[0]) from None
    except RuleNotFound:
        raise CentralError(404, "no such rule") from None
    return redirect("/alerts/rules")
