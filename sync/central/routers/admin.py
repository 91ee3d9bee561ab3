"""Head office's reads (admin token): stores and devices, daily scores, the answers export."""

from __future__ import annotations

import datetime as dt
import io
from typing import Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from sync.central import export, service
from sync.central.deps import DB, ApiPrincipal, ApiStore, AppSettings
from sync.central.service import CentralError
from sync.protocol import ScoresReport, StoreSummary

router = APIRouter(prefix="/api/v1/stores", tags=["head office"])

MAX_RANGE_DAYS = 3660
MAX_SEQ = 2**63 - 1


@router.get(
    "", summary="Stores, their devices and when each was last seen", response_model=list[StoreSummary]
)
def list_stores(principal: ApiPrincipal, db: DB) -> list[StoreSummary]:
    return [s for s in service.list_stores(db) if principal.sees(s["store"])]


def _day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CentralError(400, f"{name}: not a day (YYYY-MM-DD): {text!r}") from None


@router.get(
    "/{store_id}/scores",
    summary="Daily scores, same JSON as `kiosk scores --json`",
    response_model=ScoresReport,
)
def scores(
    store_id: ApiStore,
    db: DB,
    # Checked by _day (a clear 400), documented as dates so that clients and fuzzers send days.
    start: str = Query(alias="from", json_schema_extra={"format": "date"}),
    end: str = Query(alias="to", json_schema_extra={"format": "date"}),
) -> ScoresReport:
    first, last = _day(start, "from"), _day(end, "to")
    if first > last:
        raise CentralError(400, f"from {first} is after to {last}")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise CentralError(400, f"a range is at most {MAX_RANGE_DAYS} days")
    return service.store_scores(db, store_id, first, last)


@router.get(
    "/{store_id}/answers",
    summary="Answers export, paged by arrival order; the next page starts after the X-Next-After header",
    description=(
        "Pages of at most `limit` answers (10 000 at most) in arrival order, optionally only the store-local "
        "days `from`..`to`. Give the `X-Next-After` of a page as `after` for the next one; an empty page "
        "means the end for now. A cursor handed out before head office was restored from a backup is "
        "answered 409 with `X-Restart-After` (where to continue; de-duplicate by answer id)."
    ),
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        409: {"description": "A cursor from before a restore: continue from X-Restart-After"},
    },
)
def export_answers(
    store_id: ApiStore,
    db: DB,
    settings: AppSettings,
    format: Literal["jsonl", "csv"] = "jsonl",
    # Bounded by the BIGINT column: a larger number overflowed the driver (a 500, found by schemathesis).
    after: int = Query(0, ge=0, le=MAX_SEQ),
    limit: int = Query(1000, ge=1),
    start: str | None = Query(None, alias="from", json_schema_extra={"format": "date"}),
    end: str | None = Query(None, alias="to", json_schema_extra={"format": "date"}),
) -> Response:
    first = _day(start, "from") if start is not None else None
    last = _day(end, "to") if end is not None else None
    if first and last and first > last:
        raise CentralError(400, f"from {first} is after to {last}")
    try:
        export.check_cursor(db, store_id, after)
    except export.CursorGone as gone:
        return JSONResponse(
            {"detail": str(gone)}, status_code=409, headers={"X-Restart-After": str(gone.restart_after)}
        )
    rows = export.export_page(db, store_id, after, min(limit, settings.max_export_page), first, last)
    headers = {"X-Next-After": str(rows[-1][0] if rows else after)}
    buffer = io.StringIO()
    export.write_header(buffer, format)
    export.write_rows(buffer, format, rows)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return Response(buffer.getvalue(), media_type=media, headers=headers)
