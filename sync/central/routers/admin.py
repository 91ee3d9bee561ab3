"""Head office's reads (admin token): stores and devices, daily scores, the answers export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from sync.central import service
from sync.central.deps import DB, Admin, AppSettings
from sync.central.service import EXPORT_FIELDS, CentralError
from sync.protocol import ScoresReport

router = APIRouter(prefix="/api/v1/stores", tags=["head office"])

MAX_RANGE_DAYS = 3660
MAX_SEQ = 2**63 - 1


@router.get("", summary="Stores, their devices and when each was last seen")
def list_stores(_admin: Admin, db: DB) -> list[dict[str, Any]]:
    return service.list_stores(db)


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
    store_id: str,
    _admin: Admin,
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
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export_answers(
    store_id: str,
    _admin: Admin,
    db: DB,
    settings: AppSettings,
    format: Literal["jsonl", "csv"] = "jsonl",
    # Bounded by the BIGINT column: a larger number overflowed the driver (a 500, found by schemathesis).
    after: int = Query(0, ge=0, le=MAX_SEQ),
    limit: int = Query(1000, ge=1),
) -> Response:
    rows = service.export_page(db, store_id, after, min(limit, settings.max_export_page))
    headers = {"X-Next-After": str(rows[-1]["seq"] if rows else after)}
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_FIELDS)
        writer.writerows([row[f] for f in EXPORT_FIELDS] for row in rows)
        return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Response(text, media_type="application/x-ndjson", headers=headers)
