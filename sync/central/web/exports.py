"""Exports of what a reader sees: the overview table (`/export/overview.csv|xlsx`, the same query string as
the page) and the raw answers of the scope and period (`/export/answers.csv|xlsx`, optionally one
`store`), and the follow-up inbox as filtered (`/export/followups.csv|xlsx`, the same query string as
`/followups`). CSV is streamed; XLSX is written by openpyxl in write-only mode. Every export is scoped, and
the follow-ups' contact columns exist only for readers who see contacts on the page (nothing of them is
logged)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from sync.central import followups as fu
from sync.central import queries
from sync.central.db import CentralDB, answers
from sync.central.deps import DB, ApiPrincipal, check_store
from sync.central.directory import load_directory
from sync.central.routers.followups import followup_scope
from sync.central.routers.reports import today
from sync.central.service import CentralError
from sync.central.web.inbox import InboxParams, inbox_filters
from sync.central.web.phone import contact_keys

router = APIRouter(prefix="/export", include_in_schema=False)
OVERVIEW_COLUMNS = (
    "rank",
    "store",
    "name",
    "responses",
    "repeated_presses",
    "value",
    "previous",
    "change",
    "target",
    "gap",
    "ranking_score",
)
ANSWER_COLUMNS = (
    "store_id",
    "device_id",
    "session_id",
    "question_id",
    "value",
    "created_at",
    "local_day",
    "language",
    "survey_version",
    "suspect",
    "id",
)
XLSX_MAX_ROWS = 1_048_575
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(title: str, header: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for count, row in enumerate(rows, 1):
        if count > XLSX_MAX_ROWS:
            raise CentralError(400, "too many answers for one XLSX sheet: export CSV, or a shorter period")
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(header: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _file(name: str, fmt: str, header: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return StreamingResponse(
            _csv(header, rows), media_type="text/csv; charset=utf-8", headers=disposition
        )
    if fmt == "xlsx":
        return Response(_xlsx(name[:31], header, rows), media_type=XLSX, headers=disposition)
    raise CentralError(404, "exports are .csv or .xlsx")


@router.get("/overview.{fmt}")
def overview_export(
    fmt: str,
    principal: ApiPrincipal,
    db: DB,
    period: str | None = None,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    index: str = "nps",
    group: str | None = None,
) -> Response:
    span = queries.resolve_period(period, start or None, end or None, today(db, None, principal.visible))
    index = queries.check_index(index)
    # Every store of the scope, not only the page on screen: a spreadsheet is where 1,000 rows are read.
    data = queries.overview(db, principal.visible, span, index, group or None, trends=False)
    rows = (tuple(row[c] for c in OVERVIEW_COLUMNS) for row in data["stores"])
    name = f"overview-{index}-{span.start}-{span.end}"
    return _file(name, fmt, OVERVIEW_COLUMNS, rows)


def _answers(db: CentralDB, store_ids: list[str], span: queries.Period) -> Iterator[tuple[Any, ...]]:
    a = answers.c
    for start in range(0, len(store_ids), 200):
        chunk = store_ids[start : start + 200]
        with db.reading() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                select(*(a[c] for c in ANSWER_COLUMNS))
                .where(a.store_id.in_(chunk))
                .where(a.local_day >= span.start.isoformat(), a.local_day <= span.end.isoformat())
                .order_by(a.store_id, a.created_at, a.seq)
            )
            for row in result:
                yield tuple(row)


@router.get("/answers.{fmt}")
def answers_export(
    fmt: str,
    principal: ApiPrincipal,
    db: DB,
    period: str | None = None,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    group: str | None = None,
    store: str | None = None,
) -> Response:
    span = queries.resolve_period(
        period, start or None, end or None, today(db, store or None, principal.visible)
    )
    if store:
        ids = [check_store(principal, store)]
    else:
        with db.reading() as conn:
            ids = queries.scope_stores(conn, load_directory(db), principal.visible, group or None)
    if fmt not in ("csv", "xlsx"):
        raise CentralError(404, "exports are .csv or .xlsx")
    rows = _answers(db, ids, span)
    return _file(f"answers-{store or group or 'all'}-{span.start}-{span.end}", fmt, ANSWER_COLUMNS, rows)


FOLLOWUP_COLUMNS = (
    "id",
    "store",
    "device",
    "session",
    "created_at",
    "updated_at",
    "status",
    "assignee",
    "score_question",
    "score",
    "comment",
    "kiosk_comment",
    "answers",
    "language",
)
CONTACT_COLUMNS = ("contact_name", "contact", "contact_kind", "consent_version", "contact_given_at")
FOLLOWUPS_MAX = 50_000


def _followup_rows(items: list[dict[str, Any]], with_contact: bool) -> Iterator[tuple[Any, ...]]:
    for item in items:
        score = item["score"] or {}
        answers_text = "; ".join(
            f"{a['question']}={a['value']}" for a in item["answers"] if a["kind"] != "text"
        )
        row: tuple[Any, ...] = (
            item["id"],
            item["store"],
            item["device"],
            item["session"],
            item["created_at"],
            item["updated_at"],
            item["status"],
            item["assignee"] or "",
            score.get("question", ""),
            score.get("value", ""),
            item["comment"] or "",
            item["kiosk_comment"] or "",
            answers_text,
            item["language"],
        )
        if with_contact:
            contact = item.get("contact") or {}
            readable = bool(contact.get("available"))
            row += (
                (contact.get("name") or "") if readable else "",
                (contact.get("contact") or "") if readable else "",
                (contact.get("kind") or "") if readable else "",
                (contact.get("consent_version") or "") if readable else "",
                (contact.get("given_at") or "") if readable else "",
            )
        yield row


@router.get("/followups.{fmt}")
def followups_export(
    fmt: str, request: Request, principal: ApiPrincipal, db: DB, params: InboxParams
) -> Response:
    """The follow-up inbox as filtered on the page; contact columns only for who sees them there."""
    if fmt not in ("csv", "xlsx"):
        raise CentralError(404, "exports are .csv or .xlsx")
    query, shown = inbox_filters(principal, params)
    scope = followup_scope(principal)
    keys = contact_keys(request.app.state.settings) if scope.include_contact else None
    items = fu.list_followups(db, keys, scope, **query, limit=FOLLOWUPS_MAX)
    header = FOLLOWUP_COLUMNS + (CONTACT_COLUMNS if scope.include_contact else ())
    name = "followups-" + "-".join(v for v in (shown["store"], shown["from"], shown["to"]) if v)
    return _file(name.rstrip("-") or "followups", fmt, header, _followup_rows(items, scope.include_contact))
