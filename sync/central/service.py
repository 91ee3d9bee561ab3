"""What the central server does, independent of HTTP: register devices, ingest answers, score, export.

The routers and the `kiosk-central` CLI are thin layers over these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, func, select, text, update

from kiosk import RELEASE_DATE
from kiosk.config import ConfigError, check_config_text, survey_from_definition
from kiosk.domain.answers import SurveyDefinitionError, check_answer, survey_definition
from kiosk.domain.days import format_utc
from kiosk.domain.limits import MAX_ID, MAX_LANGUAGE, MAX_REASON, MAX_SESSION, MAX_VALUE, MAX_VERSION
from kiosk.domain.scoring import CountRow, daily_scores
from kiosk.domain.survey import AnswerError, KioskConfig, Survey
from sync.central import directory_view, hooks
from sync.central.db import (
    CentralDB,
    admins,
    answers,
    devices,
    store_directory,
    stores,
    survey_versions,
    visit_flags,
)
from sync.central.security import matches, new_token, split_token
from sync.protocol import MAX_VISIT_FLAGS, DeviceSummary, Outcome, ScoresReport, StoreSummary

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# The fields that make an answer's content: the same id with any of them different is a conflict. The id is
# the device's own (unique per store and device); the day is central's, derived from created_at.
CONTENT = (
    "session_id",
    "question_id",
    "value",
    "created_at",
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


def add_device(db: CentralDB, store_id: str, device_id: str, actor: str | None = None) -> str:
    """Register a device (or give it a new token, revoking the old one); returns the token, shown once.
    With an `actor`, the audit log records who did it, in the same transaction."""
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
        if actor is not None:
            from sync.central.accounts import audit  # it builds on this module

            audit(conn, actor, "device.add", f"{store_id}/{device_id}", f"token {token.token_id}")
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
    actor: str | None = None,
) -> str:
    """An admin token (shown once) reading a group, a store, or every store, until `expires_at`. With an
    `actor`, the audit log records who made it and its scope, in the same transaction."""
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
        if actor is not None:
            from sync.central.accounts import audit

            where = f"group {group}" if group else f"store {store}" if store else "every store"
            until = f", until {scope['expires_at']}" if scope["expires_at"] else ""
            audit(conn, actor, "admin_token.add", name, f"token {token.token_id}, reads {where}{until}")
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


def set_config(db: CentralDB, store_id: str, text: str, actor: str = "cli") -> str:
    """Store a store's kiosk.toml (checked like on a kiosk) as a new version of its history
    (sync/central/configs.py); returns its ETag."""
    from sync.central import configs  # it builds on this module

    return configs.push(db, "store", store_id, text, actor).etag


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
                quarantine_reasons=_reasons(data.get("quarantine_reasons")),
                # Ages beyond ten years are a broken clock, not data (and would overflow a datetime).
                oldest_unsynced_at=_oldest_unsynced(number("oldest_unsynced_age_s", 10 * 366 * 86400), now),
                **_config_fields(data),
            )
        )


def _oldest_unsynced(age_s: int | None, now: dt.datetime) -> str | None:
    """When the device's oldest unsynced answer was made, on central's clock (now minus the age the device
    measured on its own clock: a wrong device clock does not move it)."""
    return None if age_s is None else format_utc(now - dt.timedelta(seconds=age_s))


def _config_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The configuration a heartbeat says the device applied and the last one it refused (sync.protocol);
    anything missing or malformed is stored as unknown (a kiosk from before these fields)."""

    def version(value: Any) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31
        return value if ok else None

    def short(value: Any, limit: int) -> str | None:
        return storable(value)[:limit] if isinstance(value, str) and value else None

    refused = data.get("config_refused")
    refused = refused if isinstance(refused, dict) else {}
    return {
        "config_version": version(data.get("config_version")),
        "config_digest": short(data.get("config_digest"), 64),
        "config_applied_at": short(data.get("config_applied_at"), 32),
        "config_refused_version": version(refused.get("version")),
        "config_refused_digest": short(refused.get("digest"), 64),
        "config_refused_reason": short(refused.get("reason"), 500),
        "config_refused_at": short(refused.get("at"), 32),
    }


def _reasons(value: Any) -> str | None:
    """The latest quarantine reasons a heartbeat reports, bounded, as JSON text (None: none reported)."""
    if not isinstance(value, list):
        return None
    reasons = [storable(str(reason))[:MAX_REASON] for reason in value[:10] if isinstance(reason, str)]
    return json.dumps(reasons, ensure_ascii=False) if reasons else None


# -- ingest -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: list[str]
    duplicate: list[str]
    conflict: list[Outcome]
    rejected: list[Outcome]
    flagged: list[Outcome]
    device_answers: int = 0  # what central holds of this device after the upload (restore detection)
    flags_applied: list[str] = field(default_factory=list)  # the visit flags central now holds


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


def store_timezone(conn: Connection, store_id: str) -> ZoneInfo | None:
    """The store's time zone for its local days: the store directory's (which owns it), else its
    configuration's; None when head office has not configured the store yet. Rollups, alerts and pages read
    the same `directory_view.store_timezone`, so an answer's day and its hour agree everywhere."""
    if store_survey_config(conn, store_id) is None:
        return None
    return directory_view.store_timezone(conn, store_id)


def _ingest_store_facts(conn: Connection, store_id: str) -> tuple[KioskConfig | None, ZoneInfo | None]:
    """The store's configuration and time zone in one query: the time zone is the directory's, else the
    configuration's (what `directory_view.store_timezone` answers, read beside the configuration)."""
    row = conn.execute(
        select(stores.c.config_toml, store_directory.c.timezone)
        .select_from(stores.outerjoin(store_directory, store_directory.c.store_id == stores.c.id))
        .where(stores.c.id == store_id)
    ).first()
    config = (
        directory_view.parsed_config(str(row.config_toml)) if row is not None and row.config_toml else None
    )
    if config is None:
        return None, None
    if row is not None and row.timezone:
        try:
            return config, ZoneInfo(row.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return config, ZoneInfo(config.store.timezone)


def store_survey_config(conn: Connection, store_id: str) -> KioskConfig | None:
    return directory_view.store_config(conn, store_id)


@functools.lru_cache(maxsize=1024)
def _parsed_definition(text: str) -> Survey:
    return survey_from_definition(json.loads(text))


def _definition_text(definition: dict[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def remember_survey(
    db: CentralDB, conn: Connection, store_id: str, survey: Survey, source: str, *, authority: bool = False
) -> None:
    """Keep a survey version in the store's history. A device's definition never replaces one head office
    knows; head office's own (`authority`: set-config) does, so it can correct a version name reused for
    other questions and have the refused answers sent again (`kiosk sync --requeue`)."""
    definition = _definition_text(survey_definition(survey))
    stmt = db.insert(survey_versions).values(
        store_id=store_id,
        version=survey.version,
        definition=definition,
        source=source[:80],
        first_seen=format_utc(now_utc()),
    )
    if authority:
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "version"], set_={"definition": definition, "source": source[:80]}
            )
        )
    else:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["store_id", "version"]))


def _batch_surveys(
    db: CentralDB,
    conn: Connection,
    who: DeviceIdentity,
    names: set[str],
    sent: dict[str, Any] | None,
    current: Survey,
) -> tuple[dict[str, Survey], dict[str, str]]:
    """The survey of each version named in a batch, or why it cannot be used (version -> reason).

    Known versions come from the store's history. An unknown one is learnt from its definition sent with the
    batch (checked like `set-config` checks a file, then kept). A protocol 1 batch (`sent` None) cannot send
    definitions: its unknown versions are checked against the store's current survey, as before."""
    if names <= {current.version}:
        # The configuration's own version (the usual batch): head office's definition of it is the
        # configuration's survey (set-config keeps it with authority), no need to read it back.
        return {current.version: current}, {}
    known: dict[str, Survey] = {}
    for chunk in _chunks(sorted(names), 500):
        for version, definition in conn.execute(
            select(survey_versions.c.version, survey_versions.c.definition).where(
                survey_versions.c.store_id == who.store_id, survey_versions.c.version.in_(chunk)
            )
        ):
            known[version] = _parsed_definition(definition)
    refused: dict[str, str] = {}
    for name in sorted(names - set(known)):
        if sent is None:
            known[name] = current
            continue
        definition = sent.get(name)
        if definition is None:
            refused[name] = (
                f"survey version {name!r} is unknown to head office and was not sent with the batch"
            )
            continue
        try:
            survey = survey_from_definition(definition)
        except SurveyDefinitionError as error:
            refused[name] = f"survey version {name!r} refused: {error}"[:MAX_REASON]
            continue
        if survey.version != name:
            refused[name] = f"survey version {name!r} was sent with the definition of {survey.version!r}"
            continue
        remember_survey(db, conn, who.store_id, survey, f"device {who.device_id}")
        known[name] = survey
    return known, refused


def check_answer_item(item: Any, who: DeviceIdentity, received: dt.datetime) -> dict[str, Any]:
    """The row to insert from the fields alone (no survey yet), or ValueError with the reason."""
    if not isinstance(item, dict):
        raise ValueError("not an object")
    answer_id = _text(item, "id", 36)
    if str(uuid.UUID(answer_id)) != answer_id:
        raise ValueError("id must be a lower-case UUID")
    created_text = _text(item, "created_at", 40)
    created = dt.datetime.fromisoformat(created_text)
    if created.tzinfo is None:
        raise ValueError("created_at needs a UTC offset")
    created.astimezone(dt.UTC)  # OverflowError at the edge of the calendar
    day_text = _text(item, "local_day", 10)
    dt.date.fromisoformat(day_text)
    question = _text(item, "question", MAX_ID)
    language = _text(item, "language", MAX_LANGUAGE)
    if not _LANGUAGE.match(language):
        raise ValueError("language is not a language code")
    suspect = item.get("suspect")
    if not isinstance(suspect, bool):
        raise ValueError("suspect must be true or false")
    origin = who.device_id
    if item.get("device") is not None:
        # An answer a replaced device of the same store made (imported from its export): de-duplicated
        # under that device, so it is never counted twice.
        origin = _text(item, "device", MAX_ID)
        if not _ID.match(origin):
            raise ValueError("device is not a valid device id")
    return {
        "id": answer_id,
        "store_id": who.store_id,
        "device_id": origin,
        "session_id": _text(item, "session", MAX_SESSION),
        "question_id": question,
        "value": _text(item, "value", MAX_VALUE),
        "created_at": created_text,
        "local_day": day_text,
        "language": language,
        "survey_version": _text(item, "survey_version", MAX_VERSION),
        "suspect": suspect,
        "clock_flag": None,
        "received_at": format_utc(received),
        "kind": "",
        "device_day": None,
        "_created": created,
    }


ANSWER_COLUMNS = (
    "id",
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
    "clock_flag",
    "received_at",
    "kind",
    "device_day",
)
# What a hook is told about each inserted answer.
HOOK_FIELDS = (
    "store_id",
    "device_id",
    "session_id",
    "question_id",
    "value",
    "created_at",
    "local_day",
    "suspect",
    "survey_version",
    "kind",
)

# PostgreSQL: the whole batch as one array per column. A multi-row VALUES with thousands of parameters is
# re-parsed by psycopg on every call (it is too long for its cache) and was 4x slower.
_PG_INSERT = text(
    f"INSERT INTO answers ({', '.join(ANSWER_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {'boolean' if c == 'suspect' else 'text'}[])" for c in ANSWER_COLUMNS)
    + ") ON CONFLICT (store_id, device_id, id) DO NOTHING RETURNING id"
)


def insert_new_answers(db: CentralDB, conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose id is new for their device (the UNIQUE constraint decides); the ids inserted."""
    if db.is_sqlite:
        stmt = (
            db.insert(answers)
            .on_conflict_do_nothing(index_elements=["store_id", "device_id", "id"])
            .returning(answers.c.id)
        )
        return {r[0] for r in conn.execute(stmt, [{c: row[c] for c in ANSWER_COLUMNS} for row in rows])}
    params = {c: [row[c] for row in rows] for c in ANSWER_COLUMNS}
    return {r[0] for r in conn.execute(_PG_INSERT, params)}


def _batch_visits(
    conn: Connection, store_id: str, visits: set[tuple[str, str]]
) -> tuple[dict[tuple[str, str], dict[str, tuple[str, str]]], set[tuple[str, str]]]:
    """What central holds of these (device, session) visits of a store, in one query on the indexes
    (store, device, session): their stored answers, (device, session) -> question -> (id, value), and
    those it holds a visit flag for (sent before their answers).

    The keys go as one parameter. A list of 500 bound values made the driver re-parse the statement on
    every batch, and PostgreSQL, planning on the statistics of a table that just grew, filtered every
    answer of the device against it (15-35 ms a batch): the lateral lookup per visit keeps the index
    whatever the statistics say."""
    stored: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    flagged: set[tuple[str, str]] = set()
    if not visits:
        return stored, flagged
    ordered = sorted(visits)
    found: list[Any] = []
    if conn.dialect.name == "postgresql":
        query = text(
            "SELECT v.d, v.s, found.* FROM unnest(CAST(:devices AS text[]), CAST(:sessions AS text[])) "
            "AS v(d, s) CROSS JOIN LATERAL ("
            "SELECT question_id, id, value FROM answers WHERE store_id = :store AND device_id = v.d "
            "AND session_id = v.s UNION ALL SELECT NULL, NULL, NULL FROM visit_flags "
            "WHERE store_id = :store AND device_id = v.d AND session_id = v.s OFFSET 0) AS found"
        )
        params = {"store": store_id, "devices": [d for d, _ in ordered], "sessions": [s for _, s in ordered]}
        found.extend(conn.execute(query, params))
    else:
        by_device: dict[str, list[str]] = {}
        for device, session in ordered:
            by_device.setdefault(device, []).append(session)
        where = (
            "WHERE store_id = :store AND device_id = :device "
            "AND session_id IN (SELECT value FROM json_each(:sessions))"
        )
        query = text(
            f"SELECT device_id, session_id, question_id, id, value FROM answers {where} "
            f"UNION ALL SELECT device_id, session_id, NULL, NULL, NULL FROM visit_flags {where}"
        )
        for device, sessions in by_device.items():
            params = {"store": store_id, "device": device, "sessions": json.dumps(sessions)}
            found.extend(conn.execute(query, params))
    for device, session, question, answer_id, value in found:
        if question is None:
            flagged.add((device, session))
        else:
            stored.setdefault((device, session), {})[question] = (answer_id, value)
    return stored, flagged


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reject(rejected: list[Outcome], item: Any, reason: str) -> None:
    answer_id = item.get("id") if isinstance(item, dict) else None
    rejected.append({"id": storable(str(answer_id))[:100], "reason": storable(reason)[:MAX_REASON]})


def check_visit_flags(value: Any) -> list[str]:
    """The body's `visit_flags` (session ids of visits the device flagged as repeated presses), checked whole:
    a kiosk never sends a malformed list, so one is a 400, not a per-item outcome."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_VISIT_FLAGS:
        raise CentralError(400, f"visit_flags must be a list of at most {MAX_VISIT_FLAGS} session ids")
    for session in value:
        if (
            not isinstance(session, str)
            or not session
            or len(session) > MAX_SESSION
            or storable(session) != session
        ):
            raise CentralError(
                400, f"visit_flags: each session id is a text of 1 to {MAX_SESSION} characters"
            )
    return sorted(set(value))


def _apply_visit_flags(
    db: CentralDB, conn: Connection, who: DeviceIdentity, sessions: list[str], now: dt.datetime
) -> None:
    """Keep the device's visit flags and make the answers central holds of those visits suspect, moving their
    rollup counts with them. Idempotent: only answers not yet suspect change (and are counted again), so a
    flag sent twice moves nothing twice."""
    if not sessions:
        return
    from sync.central import rollups

    stamp = format_utc(now)
    conn.execute(
        db.insert(visit_flags).on_conflict_do_nothing(index_elements=["store_id", "device_id", "session_id"]),
        [
            {"store_id": who.store_id, "device_id": who.device_id, "session_id": s, "flagged_at": stamp}
            for s in sessions
        ],
    )
    changed: list[dict[str, Any]] = []
    for chunk in _chunks(sessions, 500):
        changed.extend(
            dict(r)
            for r in conn.execute(
                update(answers)
                .where(
                    answers.c.store_id == who.store_id,
                    answers.c.device_id == who.device_id,
                    answers.c.session_id.in_(chunk),
                    answers.c.suspect.is_(False),
                )
                .values(suspect=True)
                .returning(
                    answers.c.store_id,
                    answers.c.local_day,
                    answers.c.question_id,
                    answers.c.kind,
                    answers.c.value,
                    answers.c.created_at,
                )
            ).mappings()
        )
    rollups.move_to_suspect(conn, changed)


def ingest(
    db: CentralDB,
    who: DeviceIdentity,
    items: Sequence[Any],
    now: dt.datetime,
    surveys: dict[str, Any] | None = None,
    flags: Sequence[str] = (),
) -> IngestResult:
    """Store a batch: each answer accepted, duplicate, conflict or rejected, in one transaction.

    Each answer is checked against the store's survey version it names (kiosk.domain.answers.check_answer,
    the tap's own check) and counted on central's store-local day; a device that counted another day is
    flagged, not refused. `surveys`: the definitions a protocol 2 batch sends (None: protocol 1). A cause
    that is the server's own (no configuration yet) is a CentralError (503), never a rejection.

    `flags`: session ids of the device's visits it flagged as repeated presses (checked by
    `check_visit_flags`). They are kept and applied first, in the same transaction: the visits' stored
    answers become suspect, and so do their answers in this batch or any later one.
    """
    rejected: list[Outcome] = []
    flagged: dict[str, str] = {}
    candidates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        try:
            row = check_answer_item(item, who, now)
        except (ValueError, TypeError, AttributeError, OverflowError) as error:
            # OverflowError: a time at the edge of the calendar (0001-01-01T00:30+01:00) has no UTC instant;
            # it was a 500 for the whole batch (found by schemathesis).
            _reject(rejected, item, str(error))
            continue
        if row["id"] in seen:
            rejected.append({"id": row["id"], "reason": "sent twice in the same batch"})
            continue
        seen.add(row["id"])
        candidates.append(row)

    inserted: set[str] = set()
    existing: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    with db.writing() as conn:
        config, tz = _ingest_store_facts(conn, who.store_id)
        if config is None or tz is None:
            raise CentralError(
                503,
                f"head office has no configuration for store {who.store_id!r} yet (kiosk-central set-config); "
                "the answers stay on the kiosk and are sent again later",
            )
        _apply_visit_flags(db, conn, who, sorted(set(flags)), now)
        # After the flags just applied: an answer already stored of a flagged visit is suspect now.
        stored, flagged_visits = _batch_visits(
            conn, who.store_id, {(row["device_id"], row["session_id"]) for row in candidates}
        )
        # A flag that came before its answers (an earlier upload): they are stored suspect.
        for row in candidates:
            if (row["device_id"], row["session_id"]) in flagged_visits:
                row["suspect"] = True
        names = {row["survey_version"] for row in candidates}
        known, refused = _batch_surveys(db, conn, who, names, surveys, config.survey)
        in_batch: dict[tuple[str, str], dict[str, str]] = {}
        too_old = RELEASE_DATE - dt.timedelta(days=3 * 366)
        for row in candidates:
            version = row["survey_version"]
            if version in refused:
                _reject(rejected, row, refused[version])
                continue
            session = (row["device_id"], row["session_id"])
            earlier = stored.get(session)
            visit = {q: v for q, (i, v) in earlier.items() if i != row["id"]} if earlier else {}
            if session in in_batch:
                visit.update(in_batch[session])
            try:
                question, value = check_answer(known[version], row["question_id"], row["value"], visit)
            except AnswerError as error:
                _reject(rejected, row, f"survey {version!r}: {error}")
                continue
            in_batch.setdefault(session, {})[question.id] = value
            created = row["_created"]  # kept for the hooks (the alert queue's time range)
            local = created.astimezone(tz)
            day = local.date().isoformat()  # kiosk.domain.days.local_day
            row["_local_hour"] = local.hour  # for the hourly rollup (sync.central.rollups)
            row["value"], row["kind"] = value, question.kind.value
            if day != row["local_day"]:
                row["device_day"], row["local_day"] = row["local_day"], day
                flagged[row["id"]] = (
                    f"the device counted day {row['device_day']}; counted on {day} ({tz.key})"
                )
            if created.date() < too_old:
                row["clock_flag"] = flagged[row["id"]] = (
                    "created_at is years before this release: the device clock was wrong"
                )
            elif created - now > FUTURE_SLACK:
                row["clock_flag"] = flagged[row["id"]] = (
                    "created_at is in the future: the device clock is ahead"
                )
            rows.append(row)
        if rows:
            inserted = insert_new_answers(db, conn, rows)
            others = {(r["device_id"], r["id"]) for r in rows if r["id"] not in inserted}
            for chunk in _chunks(sorted(i for _, i in others), 500):
                for found in conn.execute(
                    select(*(answers.c[name] for name in ("device_id", "id", *CONTENT))).where(
                        answers.c.store_id == who.store_id, answers.c.id.in_(chunk)
                    )
                ):
                    if (found.device_id, found.id) in others:
                        existing[found.id] = found
            new_rows = [r for r in rows if r["id"] in inserted]
            if new_rows:
                # The rows themselves (every HOOK_FIELDS key, and a few more): no copy per answer.
                hooks.after_insert(db, conn, new_rows, now)
        held = conn.execute(
            update(devices)
            .where(devices.c.store_id == who.store_id, devices.c.device_id == who.device_id)
            .values(
                last_seen_at=format_utc(now),
                answers_held=func.coalesce(devices.c.answers_held, 0) + len(inserted),
            )
            .returning(devices.c.answers_held)
        ).scalar()
    accepted: list[str] = []
    duplicate: list[str] = []
    conflict: list[Outcome] = []
    for row in rows:
        answer_id = row["id"]
        if answer_id in inserted:
            accepted.append(answer_id)
            continue
        stored_row = existing.get(answer_id)
        if stored_row is None:
            # Not inserted and not found: cannot happen with a unique constraint. Never claim success, and
            # never `rejected` either (the kiosk would quarantine it): the whole batch is sent again.
            raise CentralError(503, f"answer {answer_id} was neither stored nor found; send the batch again")
        different = [name for name in CONTENT if getattr(stored_row, name) != row[name]]
        if different:
            conflict.append({"id": answer_id, "reason": f"stored with other {', '.join(different)}"})
        else:
            duplicate.append(answer_id)
    flags_out: list[Outcome] = [{"id": i, "reason": reason} for i, reason in flagged.items() if i in inserted]
    return IngestResult(
        accepted, duplicate, conflict, rejected, flags_out, int(held or 0), sorted(set(flags))
    )


def device_answers_held(db: CentralDB, who: DeviceIdentity) -> int:
    """How many of this device's answers central holds now (a restored database holds fewer)."""
    with db.reading() as conn:
        held = conn.execute(
            select(devices.c.answers_held).where(
                devices.c.store_id == who.store_id, devices.c.device_id == who.device_id
            )
        ).scalar()
    return int(held or 0)


# -- head-office reads ------------------------------------------------------------------------------------


def list_stores(db: CentralDB) -> list[StoreSummary]:
    with db.reading() as conn:
        store_rows = conn.execute(select(stores).order_by(stores.c.id)).all()
        device_rows = conn.execute(select(devices).order_by(devices.c.store_id, devices.c.device_id)).all()
        counts: dict[str, int] = dict(
            conn.execute(select(answers.c.store_id, func.count()).group_by(answers.c.store_id)).all()
        )
    result: list[StoreSummary] = []
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
                "devices": [_device_summary(d) for d in device_rows if d.store_id == store.id],
            }
        )
    return result


def _device_summary(d: Any) -> DeviceSummary:
    return {
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
        "quarantine_reasons": json.loads(d.quarantine_reasons) if d.quarantine_reasons else [],
        "oldest_unsynced_at": d.oldest_unsynced_at,
        "config_version": d.config_version,
        "config_refused_version": d.config_refused_version,
        "config_refused_reason": d.config_refused_reason,
    }


def store_scores(db: CentralDB, store_id: str, start: dt.date, end: dt.date) -> ScoresReport:
    """Daily scores of a store, computed by the kiosk's own scoring code: the shape of `kiosk scores --json`."""
    found = store_config(db, store_id)
    if found is None:
        raise CentralError(404, f"no configuration for store {store_id!r} (kiosk-central set-config)")
    config = parse_store_config(found[0])
    with db.reading() as conn:
        rows = conn.execute(
            select(
                answers.c.local_day,
                answers.c.question_id,
                answers.c.value,
                answers.c.suspect,
                answers.c.kind,
                func.count(),
            )
            .where(
                answers.c.store_id == store_id,
                answers.c.local_day >= start.isoformat(),
                answers.c.local_day <= end.isoformat(),
            )
            .group_by(
                answers.c.local_day, answers.c.question_id, answers.c.value, answers.c.suspect, answers.c.kind
            )
        ).all()
    counts = [
        CountRow(dt.date.fromisoformat(r[0]), r[1], r[2], bool(r[3]), int(r[5]), r[4] or None) for r in rows
    ]
    return cast(ScoresReport, daily_scores(config.store, config.survey, counts, start, end))


EXPORT_FIELDS = ("seq", *ANSWER_COLUMNS)
