"""Answer counts kept beside the answers, in the ingest transaction: per store, store-local day, question,
kind, value and suspect flag (`rollup_daily`), and the same per store-local hour (`rollup_hourly`); typed
comments (kind `text`) are counted under an empty value, never by their words.

A coarser `rollup_monthly` (per store-local month) serves long periods. `rollup_index_daily` and its twin
`rollup_index_monthly` hold, per store, day (month), question and kind, the parts every index is made of
(answers, suspect answers, promoters, detractors, top-2, Happy Index steps, "easy"): the overview reads a row
per store and day instead of a row per value. Every head-office page reads these counts, never the raw
answers. `after_insert(db, conn, rows)` is the ingest hook (sync/central/hooks.py calls it with the rows
just inserted); `rebuild(conn)` recounts everything from the answers (the Alembic revision's backfill, and a
repair tool); `rebuild_index(conn)` recounts the index parts from `rollup_daily` by one INSERT ... SELECT.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from sync.central import directory_view
from sync.central.db import (
    answers,
    rollup_daily,
    rollup_hourly,
    rollup_index_daily,
    rollup_index_monthly,
    rollup_monthly,
)

UNKNOWN_KIND = "unknown"
TEXT_KIND = "text"


def _store_facts(conn: Connection, store_id: str) -> tuple[dict[str, str], ZoneInfo | None]:
    """The kinds of the store's questions (its current configuration) and its time zone (the directory's,
    else the configuration's: `directory_view.store_timezone`, as ingest, alerts and pages read it). Only
    needed for rows that come without `kind` (answers of before revision 0002) or without ingest's hour
    (visit flags applied later, a rebuild); None as zone when central has no configuration of the store."""
    config = directory_view.store_config(conn, store_id)
    if config is None:
        return {}, None
    return {q.id: str(q.kind) for q in config.survey.questions}, directory_view.store_timezone(conn, store_id)


def local_hour(created_at: str, zone: ZoneInfo | None) -> int:
    """The store-local hour of an answer (the device's own offset when the store's zone is unknown)."""
    at = dt.datetime.fromisoformat(created_at)
    return (at.astimezone(zone) if zone else at).hour


def _count(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> tuple[Counter[tuple[Any, ...]], ...]:
    daily: Counter[tuple[Any, ...]] = Counter()
    monthly: Counter[tuple[Any, ...]] = Counter()
    hourly: Counter[tuple[Any, ...]] = Counter()
    facts: dict[str, tuple[dict[str, str], ZoneInfo | None]] = {}
    for row in rows:
        store = row["store_id"]
        kind = row.get("kind")
        hour = row.get("_local_hour")  # ingest computed it with the day (no store facts to read then)
        if not kind or hour is None:
            if store not in facts:
                facts[store] = _store_facts(conn, store)
            kinds, zone = facts[store]
            kind = kind or kinds.get(row["question_id"], UNKNOWN_KIND)
            if hour is None:
                hour = local_hour(row["created_at"], zone)
        suspect = bool(row["suspect"])
        # A comment typed at the kiosk is counted, never by its words: they stay in the answers only.
        value = "" if kind == TEXT_KIND else row["value"]
        daily[(store, row["local_day"], row["question_id"], kind, value, suspect)] += 1
        monthly[(store, row["local_day"][:7], row["question_id"], kind, value, suspect)] += 1
        hourly[(store, row["local_day"], hour, row["question_id"], kind, value, suspect)] += 1
    return daily, monthly, hourly


def _upsert(conn: Connection, table: Any, keys: tuple[str, ...], counts: Counter[tuple[Any, ...]]) -> None:
    """Add `counts` (key -> n) to the table, rows in key order."""
    _upsert_all(conn, [(table, keys, counts)])


def _upsert_all(
    conn: Connection, tables: list[tuple[Any, tuple[str, ...], Counter[tuple[Any, ...]]]]
) -> None:
    """Add each table's counts (key -> n), rows in key order (two concurrent ingests lock rollup rows in the
    same order). PostgreSQL: one statement for every table, each a column-array upsert (an executemany was
    a round trip per row); SQLite: one executemany per table."""
    tables = [(table, keys, counts) for table, keys, counts in tables if counts]
    if not tables:
        return
    if conn.dialect.name != "postgresql":
        for table, keys, counts in tables:
            insert = sqlite.insert(table)
            # The kind is part of the key: a question whose kind changed keeps each day's answers on their
            # own scale.
            stmt = insert.on_conflict_do_update(
                index_elements=list(keys), set_={"n": table.c.n + insert.excluded.n}
            )
            conn.execute(
                stmt, [{**dict(zip(keys, k, strict=True)), "n": n} for k, n in sorted(counts.items())]
            )
        return
    params: dict[str, list[Any]] = {}
    shape = []
    for number, (table, keys, counts) in enumerate(tables):
        ordered = sorted(counts.items())
        for i, key in enumerate(keys):
            params[f"t{number}_{key}"] = [k[i] for k, _ in ordered]
        params[f"t{number}_n"] = [n for _, n in ordered]
        shape.append((table.name, keys, tuple(_pg_type(table.c[key]) for key in keys)))
    conn.execute(_pg_upsert(tuple(shape)), params)


def _pg_type(column: Any) -> str:
    if isinstance(column.type, Boolean):
        return "boolean"
    return "integer" if isinstance(column.type, Integer) else "text"


@functools.lru_cache(maxsize=32)
def _pg_upsert(shape: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]) -> Any:
    parts = []
    for number, (name, keys, types) in enumerate(shape):
        arrays = ", ".join(
            f"CAST(:t{number}_{key} AS {kind}[])" for key, kind in zip(keys, types, strict=True)
        )
        parts.append(
            f"INSERT INTO {name} ({', '.join(keys)}, n) "
            f"SELECT * FROM unnest({arrays}, CAST(:t{number}_n AS integer[])) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = {name}.n + EXCLUDED.n"
        )
    if len(parts) == 1:
        return text(parts[0])
    # Data-modifying WITH: every upsert runs, in one round trip.
    first = ", ".join(f"u{number} AS ({part})" for number, part in enumerate(parts[:-1]))
    return text(f"WITH {first} {parts[-1]}")


DAILY_KEYS = ("store_id", "local_day", "question_id", "kind", "value", "suspect")
MONTHLY_KEYS = ("store_id", "month", "question_id", "kind", "value", "suspect")
HOURLY_KEYS = ("store_id", "local_day", "hour", "question_id", "kind", "value", "suspect")


def after_insert(db: Any, conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The ingest hook: count the answers just inserted, in the same transaction (rows sorted by key, so
    two concurrent ingests lock rollup rows in the same order and cannot deadlock)."""
    daily, monthly, hourly = _count(conn, rows)
    _upsert_all(
        conn,
        [
            (rollup_daily, DAILY_KEYS, daily),
            (rollup_monthly, MONTHLY_KEYS, monthly),
            (rollup_hourly, HOURLY_KEYS, hourly),
        ],
    )
    # Last, in after_insert and move_to_suspect alike: rows locked in the same order in both.
    _upsert_index(conn, daily)


def move_to_suspect(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Answers just made suspect (a visit flag arrived after them): their counts move from suspect=false to
    suspect=true, in the same transaction. `rows` are exactly the answers whose flag changed (the caller's
    `UPDATE ... WHERE NOT suspect RETURNING`), so a flag applied twice moves nothing twice."""
    if not rows:
        return
    tables = ((rollup_daily, DAILY_KEYS), (rollup_monthly, MONTHLY_KEYS), (rollup_hourly, HOURLY_KEYS))
    before = _count(conn, [{**row, "suspect": False} for row in rows])
    after = _count(conn, [{**row, "suspect": True} for row in rows])
    changes = []
    for (table, keys), removed, added in zip(tables, before, after, strict=True):
        moves: Counter[tuple[Any, ...]] = Counter(added)
        for key, n in removed.items():
            moves[key] -= n
        changes.append((table, keys, moves))
    # The same upsert as `after_insert` (tables in the same order, rows in key order, suspect=false and true
    # rows together): two concurrent ingests lock rollup rows in the same order and cannot deadlock.
    _upsert_all(conn, changes)
    for (table, _), removed in zip(tables, before, strict=True):
        stores_ = sorted({key[0] for key in removed})
        conn.execute(delete(table).where(table.c.n <= 0, table.c.store_id.in_(stores_)))
    # The index parts follow the daily counts: minus each answer as it was, plus it as suspect.
    moved: Counter[tuple[Any, ...]] = Counter(after[0])
    for key, n in before[0].items():
        moved[key] -= n
    _upsert_index(conn, moved, prune=True)


def rebuild(conn: Connection, chunk: int = 20_000, index_parts: bool = True) -> None:
    """Recount every rollup from the stored answers (`index_parts=False`: the rollups of revision 0003 only,
    for its backfill, which runs before the index tables exist)."""
    conn.execute(delete(rollup_daily))
    conn.execute(delete(rollup_monthly))
    conn.execute(delete(rollup_hourly))
    columns = (answers.c.store_id, answers.c.question_id, answers.c.value, answers.c.created_at)
    query = select(*columns, answers.c.local_day, answers.c.suspect, answers.c.kind).order_by(answers.c.seq)
    rows = conn.execute(query).mappings().all()
    for start in range(0, len(rows), chunk):
        batch = [dict(row) for row in rows[start : start + chunk]]
        daily, monthly, hourly = _count(conn, batch)
        _upsert(conn, rollup_daily, DAILY_KEYS, daily)
        _upsert(conn, rollup_monthly, MONTHLY_KEYS, monthly)
        _upsert(conn, rollup_hourly, HOURLY_KEYS, hourly)
    if index_parts:
        rebuild_index(conn)


# -- the index parts --------------------------------------------------------------------------------------

INDEX_KEYS = ("store_id", "local_day", "question_id", "kind")
INDEX_MONTH_KEYS = ("store_id", "month", "question_id", "kind")
INDEX_COLUMNS = ("n", "suspect_n", "promoters", "detractors", "top2", "happy", "easy")
# The values each part counts, by kind (strings: answers keep their values as text). Python and SQL below
# both read these, so the ingest's counts and the backfill's agree.
PROMOTERS = {"nps": ("9", "10")}
DETRACTORS = {"nps": tuple(str(v) for v in range(7))}
TOP2 = {"smiley5": ("4", "5"), "smiley4": ("3", "4")}
# The Happy Index counts each answer's steps above the lowest face (both smiley scales start at 1).
HAPPY = {"smiley5": tuple("12345"), "smiley4": tuple("1234")}
EASY = {"ces7": ("5", "6", "7")}


def index_parts(kind: str, value: str, suspect: bool, n: int) -> tuple[int, ...]:
    """What `n` answers of one kind, value and suspect flag add to each of `INDEX_COLUMNS` (linear in `n`,
    so a negative `n` takes them away). Suspect answers count only as suspect."""
    if suspect:
        return (0, n, 0, 0, 0, 0, 0)
    return (
        n,
        0,
        n if value in PROMOTERS.get(kind, ()) else 0,
        n if value in DETRACTORS.get(kind, ()) else 0,
        n if value in TOP2.get(kind, ()) else 0,
        n * (int(value) - 1) if value in HAPPY.get(kind, ()) else 0,
        n if value in EASY.get(kind, ()) else 0,
    )


def _upsert_index(conn: Connection, daily: Counter[tuple[Any, ...]], prune: bool = False) -> None:
    """Add the index parts of `daily` counts (keyed like `DAILY_KEYS`, negative to take away) to both index
    rollups; `prune` drops the rows left with no answer at all."""
    days: dict[tuple[Any, ...], list[int]] = {}
    months: dict[tuple[Any, ...], list[int]] = {}
    for (store, day, question, kind, value, suspect), n in daily.items():
        if not n:
            continue
        parts = index_parts(kind, value, suspect, n)
        for totals, key in ((days, (store, day, question, kind)), (months, (store, day[:7], question, kind))):
            row = totals.setdefault(key, [0] * len(INDEX_COLUMNS))
            for i, part in enumerate(parts):
                row[i] += part
    for table, keys, totals in (
        (rollup_index_daily, INDEX_KEYS, days),
        (rollup_index_monthly, INDEX_MONTH_KEYS, months),
    ):
        if not totals:
            continue
        insert = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)
        stmt = insert.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: table.c[c] + insert.excluded[c] for c in INDEX_COLUMNS},
        )
        conn.execute(
            stmt,
            [
                {**dict(zip(keys, key, strict=True)), **dict(zip(INDEX_COLUMNS, row, strict=True))}
                for key, row in sorted(totals.items())
            ],
        )
        if prune:
            periods = sorted({key[1] for key in totals})
            stores_ = sorted({key[0] for key in totals})
            conn.execute(
                delete(table).where(
                    table.c[keys[1]].in_(periods),
                    table.c.store_id.in_(stores_),
                    table.c.n == 0,
                    table.c.suspect_n == 0,
                )
            )


def _counted(t: Any, values: Mapping[str, tuple[str, ...]], each: Any = None) -> Any:
    """SQL: the sum over rollup rows (not suspect) whose kind and value `values` names, of `each` (n)."""
    match = or_(*(and_(t.c.kind == kind, t.c.value.in_(vals)) for kind, vals in values.items()))
    return func.sum(case((and_(t.c.suspect.is_(False), match), each if each is not None else t.c.n), else_=0))


def rebuild_index(conn: Connection) -> None:
    """Recount both index rollups from `rollup_daily` (the revision's backfill, the benchmark's seed): one
    INSERT ... SELECT each, the same parts as `index_parts`."""
    conn.execute(delete(rollup_index_daily))
    conn.execute(delete(rollup_index_monthly))
    t = rollup_daily
    keys = (t.c.store_id, t.c.local_day, t.c.question_id, t.c.kind)
    daily = select(
        *keys,
        func.sum(case((t.c.suspect.is_(False), t.c.n), else_=0)),
        func.sum(case((t.c.suspect.is_(True), t.c.n), else_=0)),
        _counted(t, PROMOTERS),
        _counted(t, DETRACTORS),
        _counted(t, TOP2),
        _counted(t, HAPPY, t.c.n * (cast(t.c.value, Integer) - literal(1))),
        _counted(t, EASY),
    ).group_by(*keys)
    # In key order (day first): PostgreSQL's heap then holds a day's rows together, as ingest writes them.
    daily = daily.order_by(t.c.local_day, t.c.store_id, t.c.question_id, t.c.kind)
    conn.execute(rollup_index_daily.insert().from_select([*INDEX_KEYS, *INDEX_COLUMNS], daily))
    d = rollup_index_daily
    month = func.substr(d.c.local_day, 1, 7)
    monthly = select(
        d.c.store_id, month, d.c.question_id, d.c.kind, *(func.sum(d.c[c]) for c in INDEX_COLUMNS)
    ).group_by(d.c.store_id, month, d.c.question_id, d.c.kind)
    conn.execute(rollup_index_monthly.insert().from_select([*INDEX_MONTH_KEYS, *INDEX_COLUMNS], monthly))
