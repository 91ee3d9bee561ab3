"""The answers export of head office: keyset pages by arrival order (`seq`), optionally one range of
store-local days, streamed page by page (memory stays flat whatever the size), as CSV or JSON Lines.

The API hands out one page and the cursor of the next (`X-Next-After`); `kiosk-central export` walks every
page into a file. Cursors across a restore from a backup: `pg_dump` brings the sequence of `seq` back to its
value at dump time, so numbers handed out since would be handed out again, to other answers, and a client
keeping its cursor would silently miss them. Two guards, neither stored in the (restorable) database:

- `serve` moves the sequence up to the clock in microseconds when it starts (`raise_answer_numbers`): numbers
  then restart above anything handed out before, however old the restored dump.
- a cursor must be the `seq` of one of the store's answers (what `X-Next-After` gives): one whose answer is
  gone was handed out before a restore, and the client is told (409, `X-Restart-After` = the last answer
  before it that still exists).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, Literal

from sqlalchemy import ColumnElement, Row, Select, and_, func, select, text

from sync.central.db import CentralDB, answers
from sync.central.service import EXPORT_FIELDS

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
PAGE = 5000


class CursorGone(Exception):
    """The cursor names an answer head office no longer holds: it was handed out before a restore."""

    def __init__(self, store_id: str, after: int, restart_after: int) -> None:
        super().__init__(
            f"after={after} is not an answer of store {store_id!r} held here: a cursor from before a restore "
            f"from a backup (or not an X-Next-After value); continue from after={restart_after} (the last answer "
            "before it that is still here) and de-duplicate by answer id"
        )
        self.restart_after = restart_after


def _filters(store_id: str, start: dt.date | None, end: dt.date | None) -> list[ColumnElement[bool]]:
    where = [answers.c.store_id == store_id]
    if start is not None:
        where.append(answers.c.local_day >= start.isoformat())
    if end is not None:
        where.append(answers.c.local_day <= end.isoformat())
    return where


def check_cursor(db: CentralDB, store_id: str, after: int) -> None:
    """CursorGone unless `after` is 0 or the seq of one of the store's answers."""
    if after == 0:
        return
    with db.reading() as conn:
        found = conn.execute(
            select(answers.c.seq).where(answers.c.store_id == store_id, answers.c.seq == after)
        ).first()
        if found is not None:
            return
        before = conn.execute(
            select(func.max(answers.c.seq)).where(answers.c.store_id == store_id, answers.c.seq < after)
        ).scalar()
    raise CursorGone(store_id, after, int(before or 0))


def _select(store_id: str, after: int, limit: int, start: dt.date | None, end: dt.date | None) -> Select[Any]:
    return (
        select(*(answers.c[name] for name in EXPORT_FIELDS))
        .where(and_(*_filters(store_id, start, end), answers.c.seq > after))
        .order_by(answers.c.seq)
        .limit(limit)
    )


def export_page(
    db: CentralDB,
    store_id: str,
    after: int,
    limit: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Sequence[Row[Any]]:
    """Answers of a store in arrival order after `after` (keyset paging: stable, cheap), within the days;
    each row in EXPORT_FIELDS order, `seq` first."""
    with db.reading() as conn:
        return conn.execute(_select(store_id, after, limit, start, end)).all()


def count(db: CentralDB, store_id: str, start: dt.date | None = None, end: dt.date | None = None) -> int:
    with db.reading() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(answers).where(*_filters(store_id, start, end))
            ).scalar()
            or 0
        )


def iter_answers(
    db: CentralDB,
    store_id: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    page: int = PAGE,
) -> Iterator[Sequence[Row[Any]]]:
    """Every answer (a row in EXPORT_FIELDS order), one page at a time: at most `page` rows in memory."""
    after = 0
    with db.reading() as conn:
        while True:
            rows = conn.execute(_select(store_id, after, page, start, end)).all()
            if rows:
                yield rows
            if len(rows) < page:
                return
            after = rows[-1][0]  # seq


def write_header(handle: IO[str], fmt: Format) -> None:
    if fmt == "csv":
        csv.writer(handle, lineterminator="\n").writerow(EXPORT_FIELDS)


def write_rows(handle: IO[str], fmt: Format, rows: Iterable[Sequence[Any]]) -> None:
    """Rows in EXPORT_FIELDS order, as CSV lines or JSON objects (one a line)."""
    if fmt == "csv":
        csv.writer(handle, lineterminator="\n").writerows(rows)
    else:
        handle.writelines(
            json.dumps(dict(zip(EXPORT_FIELDS, row, strict=True)), ensure_ascii=False) + "\n" for row in rows
        )


def export_to(
    db: CentralDB,
    store_id: str,
    handle: IO[str],
    fmt: Format,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every answer of the store (within the days) to `handle`; returns how many."""
    written = 0
    write_header(handle, fmt)
    for rows in iter_answers(db, store_id, start, end):
        write_rows(handle, fmt, rows)
        written += len(rows)
        if progress is not None:
            progress(len(rows))
    return written


def raise_answer_numbers(db: CentralDB, now_s: float | None = None) -> int | None:
    """PostgreSQL: move the sequence of `answers.seq` up to the clock in microseconds, unless it is above
    already; returns the new floor (None: SQLite, or nothing to do). Run once before the workers start: a
    database restored from a dump then never hands out a number it handed out before the restore."""
    if db.is_sqlite:
        return None
    floor = int((time.time() if now_s is None else now_s) * 1_000_000)
    with db.writing() as conn:
        name = conn.execute(text("SELECT pg_get_serial_sequence('answers', 'seq')")).scalar()
        if name is None:
            return None
        current = conn.execute(text(f"SELECT last_value FROM {name}")).scalar() or 0
        if current >= floor:
            return None
        conn.execute(text("SELECT setval(CAST(:name AS regclass), :floor)"), {"name": name, "floor": floor})
    return floor
