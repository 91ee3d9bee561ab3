"""The head-office pages: the overview (`/`), a store (`/stores/{store}`) and the fleet (`/fleet`). Each
reads the same `queries` functions as the JSON API, and keeps its view in the URL
(`?period=` or `?from=&to=`, `&index=`, `&group=`, `&lang=`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sync.central import enrolment, queries, service
from sync.central.deps import DB, AdminPrincipal, PagePrincipal, PageStore, Principal
from sync.central.directory import Directory, load_directory
from sync.central.routers.reports import today
from sync.central.service import CentralError
from sync.central.web.common import checked_form, field, redirect, render

Form = Annotated[FormData, Depends(checked_form)]

router = APIRouter(include_in_schema=False)
# Stores a page of the overview shows: a 1,366 x 768 screen holds about 15 rows, and a head office of 1,000
# stores reads the top and the bottom of the ranking, not every row at once (?per_page= for more).
PAGE_SIZE = 50
INDEX_NAMES = {"nps": "NPS", "csat": "CSAT", "happy_index": "Happy Index", "ces": "CES"}
PRESET_NAMES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "month": "This month",
}


def visible_groups(directory: Directory, principal: Principal) -> list[dict[str, str]]:
    """The groups a reader may narrow to: those holding at least one store it sees."""
    result = []
    for group in sorted(directory.groups.values(), key=lambda g: g.name):
        if principal.visible is None or directory.stores_in(group.id) & principal.visible:
            result.append({"id": group.id, "name": group.name})
    return result


def sparkline(values: list[float | None], index: str, width: int = 110, height: int = 26) -> str:
    """The points of an SVG polyline (server-drawn: no script needed for a sparkline)."""
    low, high = (-100.0, 100.0) if index == "nps" else (0.0, 100.0)
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return ""
    step = width / max(len(values) - 1, 1)
    scale = (height - 4) / (high - low)
    base = height - 2 + low * scale
    return " ".join(f"{i * step:.1f},{base - v * scale:.1f}" for i, v in known)


def page_links(page: int, pages: int) -> list[int | None]:
    """The page numbers a pager shows: the first, the last, and two either side of the current one; None
    where numbers are left out (drawn as an ellipsis)."""
    keep = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[int | None] = []
    for number in keep:
        if links and number - (links[-1] or 0) > 1:
            links.append(None)
        links.append(number)
    return links


def view_context(period: queries.Period, index: str, group: str | None) -> dict[str, Any]:
    return {
        "period": period,
        "index": index,
        "group": group,
        "index_names": INDEX_NAMES,
        "preset_names": PRESET_NAMES,
    }


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request,
    db: DB,
    principal: PagePrincipal,
    period: str | None = None,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    index: str = "nps",
    group: str | None = None,
    page: int | None = None,
    per_page: int | None = None,
) -> Response:
    span = queries.resolve_period(period, start or None, end or None, today(db, None, principal.visible))
    index = queries.check_index(index)
    wanted = queries.rows_wanted(page, per_page, PAGE_SIZE)
    # One reading of the directory for the whole request (1,000 stores: milliseconds each time).
    directory = await run_in_threadpool(load_directory, db)
    groups = visible_groups(directory, principal)
    group = group or None
    if group and group not in {g["id"] for g in groups}:
        raise CentralError(404, f"no group {group!r}")
    data = await run_in_threadpool(
        queries.overview, db, principal.visible, span, index, group, directory, wanted
    )
    if wanted.page > data["pages"]:
        raise CentralError(404, f"no page {wanted.page}: the table has {data['pages']}")
    for row in data["stores"]:
        row["spark"] = sparkline(row["trend"], index)
    context = {
        **view_context(span, index, group),
        "data": data,
        "groups": groups,
        "page_links": page_links(data["page"], data["pages"]),
        "per_page": wanted.size,
        "first_row": (data["page"] - 1) * (wanted.size or 0) + 1,
    }
    return render(request, "overview.html", principal, context)


@router.get("/stores/{store_id}", response_class=HTMLResponse)
async def store_page(
    request: Request,
    store_id: PageStore,
    db: DB,
    principal: PagePrincipal,
    period: str | None = None,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    index: str = "nps",
) -> Response:
    span = queries.resolve_period(period, start or None, end or None, today(db, store_id))
    index = queries.check_index(index)
    data = await run_in_threadpool(queries.store_page, db, store_id, span, index)
    peak = max((n for row in data["heatmap"]["rows"] for n in row), default=0)
    charts = {
        "index": INDEX_NAMES[index],
        "range": [-100, 100] if index == "nps" else [0, 100],
        "target": data["target"],
        "days": [d["day"] for d in data["daily"]],
        "daily": [d["value"] for d in data["daily"]],
        "weeks": [w["week"] for w in data["weekly"]],
        "weekly": [w["value"] for w in data["weekly"]],
        "distribution": data["distribution"],
    }
    context = {
        **view_context(span, index, None),
        "data": data,
        "peak": peak,
        "charts_json": json.dumps(charts).replace("</", "<\\/"),
    }
    return render(request, "store.html", principal, context)


def _fleet(
    request: Request, db: DB, principal: Principal, new_code: Any = None, store: str = "", device: str = ""
) -> Response:
    now = service.now_utc()
    data = queries.fleet(db, principal.visible, now)
    context: dict[str, Any] = {"data": data, "new_code": new_code, "code_store": store, "code_device": device}
    if principal.is_admin:
        with db.reading() as conn:
            context["stores"] = queries.scope_stores(conn, load_directory(db), None, None)
        context["pending"] = enrolment.pending_codes(db, now)
    return render(request, "fleet.html", principal, context)


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, db: DB, principal: PagePrincipal) -> Response:
    return _fleet(request, db, principal)


@router.post("/fleet/enrol", response_class=HTMLResponse)
def enrol_device(request: Request, db: DB, principal: AdminPrincipal, form: Form) -> Response:
    """An admin adds a device: the page shows its one-time code (once; only a digest is kept)."""
    store, device = field(form, "store", 64), field(form, "device", 64)
    code = enrolment.create_code(db, principal.name, store, device, service.now_utc())
    return _fleet(request, db, principal, code, store, device)


@router.post("/fleet/enrol/{store}/{device}/revoke")
def revoke_enrolment(store: str, device: str, db: DB, principal: AdminPrincipal, _form: Form) -> Response:
    enrolment.revoke_code(db, principal.name, store, device)
    return redirect("/fleet")
