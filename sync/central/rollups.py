"""Answer counts kept beside the answers, in the ingest transaction: per store, store-local day, question,
kind, value and suspect flag (`rollup_daily`), and the same per store-local hour (`rollup_hourly`); typed
comments (kind `text`) are counted under an empty value, never by their words.

A coarser `rollup_monthly` (per store-local month) serves long periods. Every head-office page reads these counts, never the raw answers. `after_insert(db, conn, rows)` is the
ingest hook (sync/central/hooks.py calls it with the rows just inserted); `rebuild(conn)` recounts
everything from the answers (the Alembic revision's backfill, and a repair tool).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.config import ConfigError, check_config_text
from sync.central.db import answers, rollup_daily, rollup_hourly, rollup_monthly, store_directory, stores

UNKNOWN_KIND = "unknown"
TEXT_KIND = "text"
# (store id, config ETag) -> (question id -> kind, time zone of the file)
_config_cache: dict[tuple[str, str | None], tuple[dict[str, str], str | None]] = {}


def _store_facts(conn: Connection, store_id: str) -> tuple[dict[str, str], ZoneInfo | None]:
    """The kinds of the store's questions (from its current configuration) and its time zone (the
    directory's, else the configuration's). Only needed while rows arrive without `kind` and the time zone
    is not yet computed by ingest."""
    row = conn.execute(
        select(stores.c.config_toml, stores.c.config_etag).where(stores.c.id == store_id)
    ).first()
    key = (store_id, row.config_etag if row else None)
    if key not in _config_cache:
        kinds: dict[str, str] = {}
        zone: str | None = None
        if row is not None and row.config_toml:
            try:
                config = check_config_text(row.config_toml, "central")
                kinds = {q.id: str(q.kind) for q in config.survey.questions}
                zone = config.store.timezone
            except ConfigError:
                pass
        if len(_config_cache) > 10_000:
            _config_cache.clear()
        _config_cache[key] = (kinds, zone)
    kinds, zone = _config_cache[key]
    directory_zone = conn.execute(
        select(store_directory.c.timezone).where(store_directory.c.store_id == store_id)
    ).scalar()
    name = directory_zone or zone
    try:
        return kinds, ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return kinds, None


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
        if store not in facts:
            facts[store] = _store_facts(conn, store)
        kinds, zone = facts[store]
        kind = row.get("kind") or kinds.get(row["question_id"], UNKNOWN_KIND)
        suspect = bool(row["suspect"])
        # A comment typed at the kiosk is counted, never by its words: they stay in the answers only.
        value = "" if kind == TEXT_KIND else row["value"]
        daily[(store, row["local_day"], row["question_id"], kind, value, suspect)] += 1
        monthly[(store, row["local_day"][:7], row["question_id"], kind, value, suspect)] += 1
        hour = local_hour(row["created_at"], zone)
        hourly[(store, row["local_day"], hour, row["question_id"], kind, value, suspect)] += 1
    return daily, monthly, hourly


def _upsert(conn: Connection, table: Any, keys: tuple[str, ...], counts: Counter[tuple[Any, ...]]) -> None:
    if not counts:
        return
    insert = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)
    # The kind is part of the key: a question whose kind changed keeps each day's answers on their own scale.
    stmt = insert.on_conflict_do_update(index_elements=list(keys), set_={"n": table.c.n + insert.excluded.n})
    conn.execute(stmt, [{**dict(zip(keys, key, strict=True)), "n": n} for key, n in sorted(counts.items())])


DAILY_KEYS = ("store_id", "local_day", "question_id", "kind", "value", "suspect")
MONTHLY_KEYS = ("store_id", "month", "question_id", "kind", "value", "suspect")
HOURLY_KEYS = ("store_id", "local_day", "hour", "question_id", "kind", "value", "suspect")


def after_insert(db: Any, conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The ingest hook: count the answers just inserted, in the same transaction (rows sorted by key, so
    two concurrent ingests lock rollup rows in the same order and cannot deadlock)."""
    daily, monthly, hourly = _count(conn, rows)
    _upsert(conn, rollup_daily, DAILY_KEYS, daily)
    _upsert(conn, rollup_monthly, MONTHLY_KEYS, monthly)
    _upsert(conn, rollup_hourly, HOURLY_KEYS, hourly)


def move_to_suspect(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Answers just made suspect (a visit flag arrived after them): their counts move from suspect=false to
    suspect=true, in the same transaction. `rows` are exactly the answers whose flag changed (the caller's
    `UPDATE ... WHERE NOT suspect RETURNING`), so a flag applied twice moves nothing twice."""
    if not rows:
        return
    tables = ((rollup_daily, DAILY_KEYS), (rollup_monthly, MONTHLY_KEYS), (rollup_hourly, HOURLY_KEYS))
    before = _count(conn, [{**row, "suspect": False} for row in rows])
    after = _count(conn, [{**row, "suspect": True} for row in rows])
    for (table, keys), removed, added in zip(tables, before, after, strict=True):
        # One upsert in key order (suspect=false and true rows together), like `after_insert`: two
        # concurrent ingests lock rollup rows in the same order and cannot deadlock.
        moves: Counter[tuple[Any, ...]] = Counter(added)
        for key, n in removed.items():
            moves[key] -= n
        _upsert(conn, table, keys, moves)
        stores_ = sorted({key[0] for key in removed})
        conn.execute(delete(table).where(table.c.n <= 0, table.c.store_id.in_(stores_)))


def rebuild(conn: Connection, chunk: int = 20_000) -> None:
    """Recount every rollup from the stored answers."""
    conn.execute(delete(rollup_daily))
    conn.execute(delete(rollup_monthly))
    conn.execute(delete(rollup_hourly))
    columns = (answers.c.store_id, answers.c.question_id, answers.c.value, answers.c.created_at)
    query = select(*columns, answers.c.local_day, answers.c.suspect, answers.c.kind).order_by(answers.c.seq)
    batch: list[dict[str, Any]] = []
    for row in conn.execute(query).mappings().all():
        batch.append(dict(row))
        if len(batch) >= chunk:
            after_insert(None, conn, batch)
            batch = []
    after_insert(None, conn, batch)
