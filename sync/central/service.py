"""What the central server does, independent of HTTP: register devices, ingest answers, score, export.

The routers and the `kiosk-central` CLI are thin layers over these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text, update

from kiosk import RELEASE_DATE
from kiosk.config import ConfigError, check_config_text
from kiosk.domain.days import format_utc
from kiosk.domain.scoring import CountRow, daily_scores
from kiosk.domain.survey import KioskConfig
from sync.central import alerts, rollups
from sync.central.db import CentralDB, admins, answers, devices, stores
from sync.central.security import matches, new_token, split_token

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# The fields that make an answer's content: the same id with any of them different is a conflict.
CONTENT = (
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
)
# Answers more than this ahead of the server's clock come from a device whose clock is wrong.
FUTURE_SLACK = dt.timedelta(hours=26)


class CentralError(Exception):
    """A request that cannot be served; `status` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise CentralError(400, f"{what} {value!r} is not a valid id (letters, digits, '_', '-', '.')")
    return value


# -- devices, admins, store configuration ----------------------------------------------------------------


def ensure_store(db: CentralDB, conn: Any, store_id: str) -> None:
    stmt = db.insert(stores).values(id=store_id, updated_at=format_utc(now_utc()))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))


def add_device(db: CentralDB, store_id: str, device_id: str) -> str:
    """Register a device (or give it a new token, revoking the old one); returns the token, shown once."""
    check_id(store_id, "store")
    check_id(device_id, "device")
    token = new_token()
    with db.writing() as conn:
        ensure_store(db, conn, store_id)
        stmt = db.insert(devices).values(
            store_id=store_id,
            device_id=device_id,
            token_id=token.token_id,
            token_hash=token.token_hash,
            revoked=False,
            created_at=format_utc(now_utc()),
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "device_id"],
                set_={"token_id": token.token_id, "token_hash": token.token_hash, "revoked": False},
            )
        )
    return token.token


def revoke_device(db: CentralDB, store_id: str, device_id: str) -> bool:
    with db.writing() as conn:
        result = conn.execute(
            update(devices)
            .where(devices.c.store_id == store_id, devices.c.device_id == device_id)
            .values(revoked=True)
        )
    return bool(result.rowcount)


def add_admin(
    db: CentralDB,
    name: str,
    *,
    group: str | None = None,
    store: str | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """An admin token (shown once) reading a group, a store, or every store, until `expires_at`."""
    check_id(name, "admin")
    if group and store:
        raise CentralError(400, "a scope is a group or a store, not both")
    token = new_token()
    scope = {
        "group_id": group or None,
        "store_id": store or None,
        "expires_at": format_utc(expires_at) if expires_at else None,
    }
    with db.writing() as conn:
        stmt = db.insert(admins).values(
            name=name,
            token_id=token.token_id,
            token_hash=token.token_hash,
            revoked=False,
            created_at=format_utc(now_utc()),
            **scope,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"token_id": token.token_id, "token_hash": token.token_hash, "revoked": False, **scope},
            )
        )
    return token.token


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    store_id: str
    device_id: str


def authenticate_device(db: CentralDB, token: str) -> DeviceIdentity:
    parts = split_token(token)
    if parts is None:
        raise CentralError(401, "malformed token")
    with db.reading() as conn:
        row = conn.execute(
            select(devices.c.store_id, devices.c.device_id, devices.c.token_hash, devices.c.revoked).where(
                devices.c.token_id == parts[0]
            )
        ).first()
    if row is None or not matches(parts[1], row.token_hash):
        raise CentralError(401, "unknown token")
    if row.revoked:
        raise CentralError(401, "token revoked by head office")
    return DeviceIdentity(row.store_id, row.device_id)


@dataclass(frozen=True, slots=True)
class AdminToken:
    name: str
    group_id: str | None
    store_id: str | None


def authenticate_admin_token(db: CentralDB, token: str, now: dt.datetime) -> AdminToken:
    """A valid, unexpired admin token with its scope (a group, a store, or every store)."""
    parts = split_token(token)
    if parts is None:
        raise CentralError(401, "malformed token")
    with db.reading() as conn:
        row = conn.execute(select(admins).where(admins.c.token_id == parts[0])).first()
    if row is None or not matches(parts[1], row.token_hash) or row.revoked:
        # A device token (or anything else) reads nothing: 403 only once we know who it is would leak.
        raise CentralError(403, "an admin token is needed")
    if row.expires_at and row.expires_at <= format_utc(now):
        raise CentralError(403, "this admin token has expired")
    return AdminToken(str(row.name), row.group_id, row.store_id)


def authenticate_admin(db: CentralDB, token: str) -> str:
    return authenticate_admin_token(db, token, now_utc()).name


def parse_store_config(text: str) -> KioskConfig:
    try:
        return check_config_text(text, "kiosk.toml")
    except ConfigError as error:
        raise CentralError(400, error.problems[0][:300]) from None


def set_config(db: CentralDB, store_id: str, text: str) -> str:
    """Store a store's kiosk.toml (checked like on a kiosk); returns its ETag."""
    config = parse_store_config(text)
    if config.store.id != store_id:
        raise CentralError(400, f"the file is for store {config.store.id!r}, not {store_id!r}")
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    with db.writing() as conn:
        ensure_store(db, conn, store_id)
        conn.execute(
            update(stores)
            .where(stores.c.id == store_id)
            .values(config_toml=text, config_etag=etag, updated_at=format_utc(now_utc()))
        )
    return etag


def store_config(db: CentralDB, store_id: str) -> tuple[str, str] | None:
    with db.reading() as conn:
        row = conn.execute(
            select(stores.c.config_toml, stores.c.config_etag).where(stores.c.id == store_id)
        ).first()
    if row is None or row.config_toml is None:
        return None
    return str(row.config_toml), str(row.config_etag)


def heartbeat(db: CentralDB, who: DeviceIdentity, data: dict[str, Any], now: dt.datetime) -> None:
    def text(key: str, limit: int) -> str | None:
        value = data.get(key)
        return storable(str(value))[:limit] if value is not None else None

    def number(key: str, limit: int = 2**31 - 1) -> int | None:
        # Bounded by the column (INTEGER, BIGINT): a bigger number overflowed the driver (a 500).
        value = data.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
        return value if ok else None

    skew = None
    clock = text("device_clock", 32)  # the column is String(32)
    if clock:
        try:
            device_time = dt.datetime.fromisoformat(clock)
            if device_time.tzinfo is not None:
                skew = (device_time - now).total_seconds()
        except (ValueError, OverflowError):
            pass
    with db.writing() as conn:
        conn.execute(
            update(devices)
            .where(devices.c.store_id == who.store_id, devices.c.device_id == who.device_id)
            .values(
                last_seen_at=format_utc(now),
                app_version=text("app_version", 32),
                pending=number("pending"),
                quarantined=number("quarantined"),
                free_disk_bytes=number("free_disk_bytes", 2**63 - 1),
                device_clock=clock,
                clock_skew_s=skew,
                last_error=text("last_error", 500),
            )
        )


# -- ingest -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: list[str]
    duplicate: list[str]
    conflict: list[dict[str, str]]
    rejected: list[dict[str, str]]
    flagged: list[dict[str, str]]


def storable(text: str) -> str:
    """`text` made storable and serialisable: a lone surrogate (not UTF-8) or a NUL (refused by
    PostgreSQL) written as a backslash escape. Both made the server answer 500 (found by fuzzing)."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _text(item: dict[str, Any], key: str, limit: int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"{key} must be a text of 1 to {limit} characters")
    if storable(value) != value:
        # The same on SQLite and PostgreSQL: a kiosk never sends these.
        raise ValueError(f"{key} holds a NUL or a lone surrogate (not valid UTF-8 text)")
    return value


def check_answer(item: Any, who: DeviceIdentity, received: dt.datetime) -> tuple[dict[str, Any], str | None]:
    """The row to insert and a clock flag, or ValueError with the reason for rejecting it."""
    if not isinstance(item, dict):
        raise ValueError("not an object")
    answer_id = _text(item, "id", 36)
    if str(uuid.UUID(answer_id)) != answer_id:
        raise ValueError("id must be a lower-case UUID")
    created_text = _text(item, "created_at", 40)
    created = dt.datetime.fromisoformat(created_text)
    if created.tzinfo is None:
        raise ValueError("created_at needs a UTC offset")
    day_text = _text(item, "local_day", 10)
    day = dt.date.fromisoformat(day_text)
    # A store's local day is within UTC-12..UTC+14 of the instant.
    if abs((day - created.astimezone(dt.UTC).date()).days) > 1:
        raise ValueError("local_day does not match created_at")
    question = _text(item, "question", 64)
    if not _ID.match(question):
        raise ValueError("question is not a valid id")
    language = _text(item, "language", 8)
    if not _LANGUAGE.match(language):
        raise ValueError("language is not a language code")
    suspect = item.get("suspect")
    if not isinstance(suspect, bool):
        raise ValueError("suspect must be true or false")
    flag = None
    if created.date() < RELEASE_DATE - dt.timedelta(days=3 * 366):
        flag = "created_at is years before this release: the device clock was wrong"
    elif created - received > FUTURE_SLACK:
        flag = "created_at is in the future: the device clock is ahead"
    row = {
        "id": answer_id,
        "store_id": who.store_id,
        "device_id": who.device_id,
        "session_id": _text(item, "session", 200),
        "question_id": question,
        "value": _text(item, "value", 200),
        "created_at": created_text,
        "local_day": day_text,
        "language": language,
        "survey_version": _text(item, "survey_version", 64),
        "suspect": suspect,
        "clock_flag": flag,
        "received_at": format_utc(received),
    }
    return row, flag


ANSWER_COLUMNS = ("id", *CONTENT, "clock_flag", "received_at")

# PostgreSQL: the whole batch as one array per column. A multi-row VALUES with thousands of parameters is
# re-parsed by psycopg on every call (it is too long for its cache) and was 4x slower.
_PG_INSERT = text(
    f"INSERT INTO answers ({', '.join(ANSWER_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {'boolean' if c == 'suspect' else 'text'}[])" for c in ANSWER_COLUMNS)
    + ") ON CONFLICT (id) DO NOTHING RETURNING id"
)


def insert_new_answers(db: CentralDB, conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose id is new (the UNIQUE constraint decides); returns the ids inserted."""
    if db.is_sqlite:
        stmt = db.insert(answers).on_conflict_do_nothing(index_elements=["id"]).returning(answers.c.id)
        return {r[0] for r in conn.execute(stmt, rows)}
    params = {c: [row[c] for row in rows] for c in ANSWER_COLUMNS}
    return {r[0] for r in conn.execute(_PG_INSERT, params)}


def ingest(db: CentralDB, who: DeviceIdentity, items: Sequence[Any], now: dt.datetime) -> IngestResult:
    """Store a batch: each answer accepted, duplicate, conflict or rejected, in one transaction."""
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, str]] = []
    flagged: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        try:
            row, flag = check_answer(item, who, now)
        except (ValueError, TypeError, AttributeError, OverflowError) as error:
            # OverflowError: a time at the edge of the calendar (0001-01-01T00:30+01:00) has no UTC instant;
            # it was a 500 for the whole batch (found by schemathesis).
            answer_id = item.get("id") if isinstance(item, dict) else None
            rejected.append({"id": storable(str(answer_id))[:100], "reason": storable(str(error))[:200]})
            continue
        if row["id"] in seen:
            rejected.append({"id": row["id"], "reason": "sent twice in the same batch"})
            continue
        seen.add(row["id"])
        rows.append(row)
        if flag:
            flagged.append({"id": row["id"], "reason": flag})
    inserted: set[str] = set()
    existing: dict[str, Any] = {}
    with db.writing() as conn:
        if rows:
            inserted = insert_new_answers(db, conn, rows)
            # The head-office rollups, counted in the same transaction (hooks.py calls it after the merge).
            rollups.after_insert(db, conn, [r for r in rows if r["id"] in inserted])
            # answers.created webhooks: outbox rows in this transaction (sync.central.alerts).
            alerts.in_ingest(conn, [row for row in rows if row["id"] in inserted], now)
            others = [r["id"] for r in rows if r["id"] not in inserted]
            for start in range(0, len(others), 500):
                chunk = others[start : start + 500]
                for found in conn.execute(
                    select(*(answers.c[name] for name in ("id", *CONTENT))).where(answers.c.id.in_(chunk))
                ):
                    existing[found.id] = found
        conn.execute(
            update(devices)
            .where(devices.c.store_id == who.store_id, devices.c.device_id == who.device_id)
            .values(last_seen_at=format_utc(now))
        )
    accepted, duplicate, conflict = [], [], []
    for row in rows:
        answer_id = row["id"]
        if answer_id in inserted:
            accepted.append(answer_id)
            continue
        stored = existing.get(answer_id)
        if stored is None:
            # Not inserted and not found: cannot happen with a unique constraint. Never claim success, and
            # never `rejected` either (the kiosk would quarantine it): the whole batch is sent again.
            raise CentralError(503, f"answer {answer_id} was neither stored nor found; send the batch again")
        different = [name for name in CONTENT if getattr(stored, name) != row[name]]
        if different:
            conflict.append({"id": answer_id, "reason": f"stored with other {', '.join(different)}"})
        else:
            duplicate.append(answer_id)
    flagged = [f for f in flagged if f["id"] in inserted]
    _after_ingest(db, [row for row in rows if row["id"] in inserted], now)
    return IngestResult(accepted, duplicate, conflict, rejected, flagged)


def _after_ingest(db: CentralDB, inserted: list[dict[str, Any]], now: dt.datetime) -> None:
    """Alert rules for the stores the batch touched (their own transaction: the answers are committed and
    acknowledged whatever happens here; the ticker closes what this misses)."""
    try:
        alerts.after_ingest(db, inserted, now)
    except Exception:
        logging.getLogger(__name__).exception("alert evaluation after ingest failed")


# -- head-office reads ------------------------------------------------------------------------------------


def list_stores(db: CentralDB) -> list[dict[str, Any]]:
    with db.reading() as conn:
        store_rows = conn.execute(select(stores).order_by(stores.c.id)).all()
        device_rows = conn.execute(select(devices).order_by(devices.c.store_id, devices.c.device_id)).all()
        counts: dict[str, int] = dict(
            conn.execute(select(answers.c.store_id, func.count()).group_by(answers.c.store_id)).all()
        )
    result = []
    for store in store_rows:
        name = timezone = None
        if store.config_toml:
            try:
                config = parse_store_config(store.config_toml)
                name, timezone = config.store.name, config.store.timezone
            except CentralError:
                pass
        result.append(
            {
                "store": store.id,
                "name": name,
                "timezone": timezone,
                "config_etag": store.config_etag,
                "answers": int(counts.get(store.id, 0)),
                "devices": [
                    {
                        "device": d.device_id,
                        "revoked": bool(d.revoked),
                        "last_seen_at": d.last_seen_at,
                        "app_version": d.app_version,
                        "pending": d.pending,
                        "quarantined": d.quarantined,
                        "free_disk_bytes": d.free_disk_bytes,
                        "device_clock": d.device_clock,
                        "clock_skew_s": d.clock_skew_s,
                        "last_error": d.last_error,
                    }
                    for d in device_rows
                    if d.store_id == store.id
                ],
            }
        )
    return result


def store_scores(db: CentralDB, store_id: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Daily scores of a store, computed by the kiosk's own scoring code: the shape of `kiosk scores --json`."""
    found = store_config(db, store_id)
    if found is None:
        raise CentralError(404, f"no configuration for store {store_id!r} (kiosk-central set-config)")
    config = parse_store_config(found[0])
    with db.reading() as conn:
        rows = conn.execute(
            select(
                answers.c.local_day, answers.c.question_id, answers.c.value, answers.c.suspect, func.count()
            )
            .where(
                answers.c.store_id == store_id,
                answers.c.local_day >= start.isoformat(),
                answers.c.local_day <= end.isoformat(),
            )
            .group_by(answers.c.local_day, answers.c.question_id, answers.c.value, answers.c.suspect)
        ).all()
    counts = [CountRow(dt.date.fromisoformat(r[0]), r[1], r[2], bool(r[3]), int(r[4])) for r in rows]
    return daily_scores(config.store, config.survey, counts, start, end)


EXPORT_FIELDS = ("seq", *ANSWER_COLUMNS)
