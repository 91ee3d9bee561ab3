"""The follow-up inbox (`/followups`, also the comments page of a store and period) and the alerts page
(`/alerts`): role-scoped like every page, changes through forms with a CSRF token, recorded with the user's
name. Viewers read; admins and managers act (and see contact details); admins also see the dead letters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import alerts, service
from sync.central import followups as fu
from sync.central.db import stores
from sync.central.deps import DB, PagePrincipal, Principal, check_store
from sync.central.directory import load_directory
from sync.central.routers.followups import followup_scope
from sync.central.service import CentralError, storable
from sync.central.web.common import checked_form, field, redirect, render
from sync.central.web.phone import contact_keys

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
AGES = {"": "Any age", "24": "Open over 24 h", "48": "Open over 48 h", "168": "Open over 7 days"}
# The figures an alert keeps, as a reader names them (others are shown by their key).
FIGURE_NAMES = {
    "question": "Question",
    "matching": "Matching answers",
    "answers": "Answers",
    "share": "Share",
    "threshold": "Threshold",
    "min_answers": "Minimum answers",
    "window_minutes": "Window (minutes)",
    "followups": "Follow-ups waiting",
    "hours": "Open for at least (hours)",
    "oldest_hours": "Oldest (hours)",
    "index": "Index",
    "value": "Value",
    "responses": "Responses",
    "check": "Check",
}
STATUS_NAMES = {
    "open": "Open",
    "in_progress": "In progress",
    "contacted": "Contacted",
    "resolved": "Resolved",
}


def acts(principal: Principal) -> bool:
    """Who changes follow-ups and alerts on the pages: admins and managers (viewers read)."""
    return principal.role in ("admin", "manager")


def _acting(principal: Principal) -> None:
    if not acts(principal):
        raise CentralError(403, "a viewer reads follow-ups and alerts; an admin or a manager acts on them")


def visible_store_names(db: DB, principal: Principal) -> dict[str, str]:
    """The stores a reader may pick, with their directory names (else their id)."""
    directory = load_directory(db)
    with db.reading() as conn:
        ids = [str(s) for s in conn.execute(select(stores.c.id).order_by(stores.c.id)).scalars()]
    found = {s: directory.stores[s].name if s in directory.stores else s for s in principal.only_visible(ids)}
    return dict(sorted(found.items(), key=lambda item: item[1].lower()))


def _text(value: str | None, name: str) -> str:
    if value is not None and storable(value) != value:
        raise CentralError(400, f"{name}: text without NUL or lone surrogates")
    return (value or "").strip()


def _day(value: str, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CentralError(400, f"{name}: a day as YYYY-MM-DD") from None


# Every value a scored question can take (faces 1-5, 0-10): what the score filter offers.
SCORE_VALUES = tuple(str(v) for v in range(11))


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """The inbox's query string as sent: the page and its export take the same one."""

    store: str | None
    status: str | None
    score: str | None
    age: str | None
    q: str | None
    start: str | None
    end: str | None


def inbox_query(
    store: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    score: Annotated[str | None, Query(max_length=16)] = None,
    age: Annotated[str | None, Query(max_length=8)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> InboxQuery:
    return InboxQuery(store, status, score, age, q, start, end)


InboxParams = Annotated[InboxQuery, Depends(inbox_query)]


def inbox_filters(principal: Principal, params: InboxQuery) -> tuple[dict[str, Any], dict[str, str]]:
    """The inbox's query string checked (400 / 403 as the page answers them): the keyword arguments of
    `followups.list_followups`, and the filters as the form shows them. The page and its export share it,
    so an export holds what the page showed."""
    age, start, end = params.age, params.start, params.end
    store, status, score, q = (
        _text(v, n)
        for v, n in (
            (params.store, "store"),
            (params.status, "status"),
            (params.score, "score"),
            (params.q, "q"),
        )
    )
    if store:
        check_store(principal, store)
    if status and status not in fu.STATUSES:
        raise CentralError(400, f"status: one of {', '.join(fu.STATUSES)}")
    if score and score not in SCORE_VALUES:
        raise CentralError(400, "score: a whole number from 0 to 10")
    if age and age not in AGES:
        raise CentralError(400, "age: 24, 48 or 168 hours")
    first, last = _day(start or "", "from"), _day(end or "", "to")
    now = service.now_utc()
    before = now - dt.timedelta(hours=int(age)) if age else None
    if last is not None:
        limit_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
        before = min(before, limit_end) if before else limit_end
    after = dt.datetime.combine(first, dt.time(), dt.UTC) if first else None
    query = {
        "store": store or None,
        "status": [status] if status else [],
        "search": q or None,
        "created_before": before,
        "created_after": after,
        "score": score or None,
    }
    shown = {
        "store": store,
        "status": status,
        "score": score,
        "age": age or "",
        "q": q,
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
    }
    return query, shown


@router.get("/followups", response_class=HTMLResponse)
def followups_page(request: Request, db: DB, principal: PagePrincipal, params: InboxParams) -> Response:
    query, shown = inbox_filters(principal, params)
    scope = followup_scope(principal)
    settings = request.app.state.settings
    # The score is matched in SQL: a visit whose answers synced after its comment is found like any other.
    items = fu.list_followups(db, contact_keys(settings), scope, **query, limit=500)
    exported = {k: v for k, v in shown.items() if v}
    context = {
        "items": items,
        "store_names": visible_store_names(db, principal),
        "statuses": STATUS_NAMES,
        "ages": AGES,
        "scores": SCORE_VALUES,
        "f": shown,
        "export_query": exported,
        "acts": acts(principal),
        "with_contact": scope.include_contact,
        "order": fu.STATUSES,
    }
    return render(request, "followups.html", principal, context)


@router.post("/followups/{followup_id}")
async def change_followup(
    request: Request, followup_id: str, db: DB, principal: PagePrincipal, form: Form
) -> Response:
    _acting(principal)
    if len(followup_id) > 36 or storable(followup_id) != followup_id:
        raise CentralError(404, "no such follow-up")
    status = field(form, "status", 16) or None
    note = field(form, "note", fu.MAX_NOTE) or None
    assignee_given = "assignee" in form
    assignee = field(form, "assignee", 64) if assignee_given else None
    scope = followup_scope(principal)
    if assignee is not None:
        current = fu.list_followups(
            db, None, fu.Scope(scope.actor, scope.stores, False), followup_id=followup_id
        )
        if current and (current[0]["assignee"] or "") == assignee:
            assignee = None  # unchanged: not an event of its own
    if status is not None:
        current = fu.list_followups(
            db, None, fu.Scope(scope.actor, scope.stores, False), followup_id=followup_id
        )
        if current and current[0]["status"] == status:
            status = None
    if status is None and note is None and assignee is None:
        return redirect(_back(form))
    await run_in_threadpool(
        lambda: fu.update_followup(
            db, scope, followup_id, status=status, note=note, assignee=assignee, now=service.now_utc()
        )
    )
    return redirect(_back(form))


def _back(form: FormData) -> str:
    back = form.get("back")
    if isinstance(back, str) and back.startswith(("/followups", "/alerts")) and "\\" not in back:
        return back
    return "/followups"


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, db: DB, principal: PagePrincipal) -> Response:
    open_ = alerts.list_alerts(db, None, "open", 500, stores=principal.visible)
    past = alerts.list_alerts(db, None, "past", 200, stores=principal.visible)
    dead = alerts.dead_letters(db) if principal.is_admin else []
    context: dict[str, Any] = {
        "open_alerts": open_,
        "past_alerts": past,
        "dead": dead,
        "store_names": visible_store_names(db, principal),
        "acts": acts(principal),
        "figure_names": FIGURE_NAMES,
    }
    return render(request, "alerts.html", principal, context)


async def _alert_call(function: Callable[..., Any], *args: Any) -> Any:
    """An alerts function, its refusals shown as the error page (not the API's JSON)."""
    try:
        return await run_in_threadpool(function, *args)
    except alerts.AlertError as error:
        raise CentralError(error.status, str(error)) from None


def _alert_in_scope(db: DB, principal: Principal, alert_id: str) -> None:
    found = alerts.alert_store(db, alert_id)
    if found is None or not principal.sees(found):
        raise CentralError(404, "no such alert")


# What a user may do to an alert from its card, each with a comment.
_ALERT_ACTIONS: dict[str, Callable[..., Any]] = {"ack": alerts.acknowledge, "close": alerts.close_by_hand}


@router.post("/alerts/{alert_id}/{action}")
async def alert_action(
    request: Request, alert_id: str, action: str, db: DB, principal: PagePrincipal, form: Form
) -> Response:
    """Acknowledge (`ack`) or close (`close`) an alert of the user's scope, with a comment."""
    act = _ALERT_ACTIONS.get(action)
    if act is None:
        raise CentralError(404, f"no action {action!r} on an alert")
    _acting(principal)
    _alert_in_scope(db, principal, alert_id)
    comment = field(form, "comment", 2000)
    if storable(comment) != comment:
        raise CentralError(400, "comment: text without NUL or lone surrogates")
    await _alert_call(act, db, alert_id, principal.name, comment, service.now_utc())
    return redirect("/alerts")


@router.post("/alerts/outbox/{seq}/retry")
def retry(
    request: Request, seq: Annotated[int, Path(ge=1, le=2**62)], db: DB, principal: PagePrincipal, form: Form
) -> Response:
    if not principal.is_admin:
        raise CentralError(403, "only an admin retries a notification")
    try:
        alerts.retry_dead(db, seq, service.now_utc())
    except alerts.AlertError as error:
        raise CentralError(error.status, str(error)) from None
    return redirect("/alerts")
