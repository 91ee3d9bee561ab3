"""Head office's aggregate JSON API: every figure the pages show, for a scope and a period, with the same
numbers (pages and this API call the same functions in `queries`). Signed-in users (cookie) or admin
tokens; both see only their scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from sync.central import queries, service
from sync.central.deps import DB, ApiPrincipal, ApiStore
from sync.central.service import CentralError

router = APIRouter(prefix="/api/v1", tags=["head office"])

PeriodQuery = Query(None, description="today, yesterday, 7d, 30d, month (ignored when from/to are given)")
FromQuery = Query(None, alias="from", json_schema_extra={"format": "date"})
ToQuery = Query(None, alias="to", json_schema_extra={"format": "date"})
IndexQuery = Query("nps", description="nps, csat, happy_index or ces")


def today(db: DB, store_id: str | None = None, visible: frozenset[str] | None = None) -> dt.date:
    """The local date the period presets count from (the store's, or the scope's head office's)."""
    return queries.local_today(db, service.now_utc(), store_id, visible)


@router.get(
    "/aggregate", summary="Every store of the scope for a period: responses, index, change, target, rank"
)
async def aggregate(
    principal: ApiPrincipal,
    db: DB,
    period: str | None = PeriodQuery,
    start: str | None = FromQuery,
    end: str | None = ToQuery,
    index: str = IndexQuery,
    group: str | None = Query(None, description="A group (with its sub-groups) of the store directory"),
    page: int | None = Query(None, description="With per_page: which page of the ranked stores (from 1)"),
    per_page: int | None = Query(
        None, description="Stores a page (1 to 1000); without it, every store of the scope"
    ),
) -> dict[str, Any]:
    span = queries.resolve_period(period, start, end, today(db, None, principal.visible))
    index = queries.check_index(index)
    wanted = queries.rows_wanted(page, per_page, None)
    if group and principal.visible is not None and not queries_group_visible(db, principal.visible, group):
        raise CentralError(404, f"no group {group!r}")
    return await run_in_threadpool(queries.overview, db, principal.visible, span, index, group, None, wanted)


def queries_group_visible(db: DB, visible: frozenset[str], group: str) -> bool:
    """A reader limited to some stores may narrow to a group only where it sees a store of it."""
    from sync.central.directory import load_directory

    directory = load_directory(db)
    return group in directory.groups and bool(directory.stores_in(group) & visible)


@router.get(
    "/aggregate/stores/{store_id}", summary="One store for a period: trends, heat map, reasons, devices"
)
async def aggregate_store(
    store_id: ApiStore,
    db: DB,
    period: str | None = PeriodQuery,
    start: str | None = FromQuery,
    end: str | None = ToQuery,
    index: str = IndexQuery,
) -> dict[str, Any]:
    span = queries.resolve_period(period, start, end, today(db, store_id))
    return await run_in_threadpool(queries.store_page, db, store_id, span, queries.check_index(index))


@router.get(
    "/fleet",
    summary=(
        "Every device of the scope: last seen, pending, age of the oldest unsynced answer, quarantined, "
        "version, configuration applied or refused, disk, clock"
    ),
)
def fleet(principal: ApiPrincipal, db: DB) -> dict[str, Any]:
    return queries.fleet(db, principal.visible, service.now_utc())
