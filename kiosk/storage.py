"""The offline response store: one SQLite file (sqlite-utils), WAL with synchronous=FULL: the schema, its
migrations and the queries. What to store (checks, visits, the repeated-press rule) is kiosk.recording's.

An answer is committed, and so fsynced, before `AnswerRecorder.record` returns. Answers never change once
written (a trigger refuses it); only the `synced_at` mark is set later. A trigger keeps `daily_counts`, the
materialised counts per store-local day, question, value and suspect flag, in the same transaction as the
answer, so the scores of a day read a few dozen rows whatever the size of the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.domain.answers import survey_definition
from kiosk.domain.days import format_utc, parse_stored
from kiosk.domain.repeats import Visit
from kiosk.domain.survey import KioskConfig

if TYPE_CHECKING:
    from sqlite_utils import Database

    from kiosk.domain.scoring import CountRow

# The migrations of kiosk.migrations, by name: a database that has them all opens without sqlite-utils.
MIGRATION_SET = "kiosk"
SCHEMA = ("m001_answers", "m002_answer_kinds", "m020_visit_flags")


def _pending_migrations(conn: sqlite3.Connection) -> bool:
    """Whether the database lacks one of the SCHEMA migrations (a new database lacks them all)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_sqlite_migrations'").fetchone() is None:
        return True
    applied = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
        )
    }
    return not applied.issuperset(SCHEMA)


class StoreError(Exception):
    """The database cannot do what was asked; the message is one line for the user."""


class DamagedDatabase(StoreError):
    """The file is not a database this release can use: damaged, foreign, or written by a newer release."""


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    session_id: str
    question_id: str
    value: str
    created_at: dt.datetime
    local_day: dt.date
    language: str
    survey_version: str
    suspect: bool
    kind: str = ""
    device_id: str = ""  # '' : this kiosk; else the device that made it (an import from a replaced one)

    def values(self) -> tuple[str | int, ...]:
        """The stored columns, in the order of _ANSWER_COLUMNS."""
        return (
            self.id,
            self.session_id,
            self.question_id,
            self.value,
            format_utc(self.created_at),
            self.local_day.isoformat(),
            self.language,
            self.survey_version,
            int(self.suspect),
            self.kind,
            self.device_id,
        )


_ANSWER_COLUMNS = (
    "id",
    "session_id",
    "question_id",
    "value",
    "created_at",
    "local_day",
    "language",
    "survey_version",
    "suspect",
    "kind",
    "device_id",
)
# The columns of the first schema: what a database must have to be this application's (older ones too).
_BASE_COLUMNS = _ANSWER_COLUMNS[:-2]
_INSERT = (
    f"INSERT INTO answers ({', '.join(_ANSWER_COLUMNS)}) VALUES ({', '.join('?' * len(_ANSWER_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class NewAnswer:
    """An answer to store: from a tap, `kiosk record` or a line of an imported file."""

    question_id: str
    value: object
    created_at: dt.datetime
    session_id: str | None = None
    language: str | None = None
    id: str | None = None
    device_id: str | None = None  # another device of this store that made it (replacement import)


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    already_present: int


# An export names the store and the device of each answer, so an import onto a replacement device keeps them.
EXPORT_COLUMNS = (*_ANSWER_COLUMNS[:-1], "synced_at", "store_id", "device_id")
# An answer is a repeated press when it was stored so (the rule before visit flags) or its visit is flagged.
SUSPECT_OF_VISIT = (
    "(suspect OR EXISTS (SELECT 1 FROM visit_flags f WHERE f.session_id = answers.session_id)) AS suspect"
)


class ResponseStore:
    """The answers of one kiosk. One instance per thread: sqlite3 connections are not shared."""

    def __init__(self, path: Path, config: KioskConfig, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.config = config
        self._db: Database | None = None
        try:
            self.conn = conn = sqlite3.connect(
                str(path), timeout=busy_timeout_ms / 1000, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            # 32 MB of page cache: a big import touches five indexes at random places (UUID keys).
            conn.execute("PRAGMA cache_size = -32000")
            self._cursor = conn.cursor()
            if _pending_migrations(conn):
                # sqlite-utils only now: importing it takes a good part of a start on a Pi.
                from kiosk.migrations import apply

                apply(conn)
            self._remember_survey()
        except sqlite3.OperationalError as error:
            raise StoreError(explain(path, error)) from None
        except sqlite3.DatabaseError as error:
            raise DamagedDatabase(f"{path}: not a kiosk database ({error})") from None

    def _remember_survey(self) -> None:
        """Keep the configuration's survey in the history (answers name it by version)."""
        survey = self.config.survey
        definition = json.dumps(survey_definition(survey), sort_keys=True, ensure_ascii=False)
        found = self.conn.execute(
            "SELECT definition = ? FROM survey_versions WHERE version = ?", (definition, survey.version)
        ).fetchone()
        if found is not None and found[0]:
            return
        # A version name reused for other questions: the newest definition wins; every answer still carries
        # its own kind, so the kiosk's scores stay right (head office says which version it refuses).
        self.conn.execute(
            "INSERT INTO survey_versions (version, definition, first_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (version) DO UPDATE SET definition = excluded.definition",
            (survey.version, definition, format_utc(dt.datetime.now(dt.UTC))),
        )

    def survey_definitions(self, versions: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored definitions of these survey versions (those the history holds)."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(versions)), 500):
            marks = ", ".join("?" * len(chunk))
            for version, definition in self.conn.execute(
                f"SELECT version, definition FROM survey_versions WHERE version IN ({marks})", list(chunk)
            ):
                found[version] = json.loads(definition)
        return found

    @property
    def db(self) -> Database:
        """The connection as a sqlite-utils Database (imported when first asked for, never on a tap)."""
        if self._db is None:
            from sqlite_utils import Database

            # No sqlite-utils plugins: loading them scans every installed package (70 ms at each start).
            self._db = Database(self.conn, execute_plugins=False)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so that concurrent writers queue."""
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # The same transaction in three calls, for the tap (kiosk.recording): a generator-based context manager
    # costs a few microseconds of the tap's budget. The tap's statements run through one cursor for the same
    # reason.

    def begin(self) -> None:
        """Start the write transaction of `writing()`: at once (BEGIN IMMEDIATE) so that writers queue."""
        try:
            self._cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise StoreError(explain(self.path, error)) from None

    def commit(self) -> None:
        """Commit (and so fsync) the transaction of `begin()`; StoreError, rolled back, when it cannot."""
        try:
            self._cursor.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self.rollback()
            raise StoreError(explain(self.path, error)) from None

    def rollback(self) -> None:
        """Give up the transaction of `begin()` (after an error)."""
        # SQLite itself rolls back on some errors (a full disk): a second ROLLBACK would hide the cause.
        if self.conn.in_transaction:
            self._cursor.execute("ROLLBACK")

    def data_version(self) -> int:
        """Changes whenever another connection (another process, the sync jobs) commits to the database."""
        return int(self._cursor.execute("PRAGMA data_version").fetchone()[0])

    # -- writing (kiosk.recording decides what; these only store) ------------------------------------------

    def insert_answer(self, answer: Answer) -> None:
        """One answer, inside the caller's `writing()` transaction."""
        self._cursor.execute(_INSERT, answer.values())

    def insert_answers(self, rows: Sequence[tuple[str | int, ...]]) -> None:
        """Many answers (`Answer.values()`), inside the caller's `writing()` transaction."""
        self.conn.executemany(_INSERT, rows)

    def flag_visits(self, flagged: set[str]) -> None:
        """Mark these visits as repeated presses (flags are only ever added), inside `writing()`."""
        if flagged:
            stamp = format_utc(dt.datetime.now(dt.UTC))
            self.conn.executemany(
                "INSERT OR IGNORE INTO visit_flags (session_id, flagged_at) VALUES (?, ?)",
                [(session_id, stamp) for session_id in sorted(flagged)],
            )

    def has_answer(self, answer_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is not None

    def already_present(self, answers: list[tuple[str | int, ...]]) -> set[str]:
        """Ids of these answers that are already stored; StoreError if one was stored with other content."""
        # What must match for a re-sent answer to be the same one: its visit, question, value and time.
        same = slice(0, 5)
        by_id = {str(a[0]): a[same] for a in answers}
        found: set[str] = set()
        for chunk in _chunks(list(by_id), 500):
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {', '.join(_ANSWER_COLUMNS[same])} FROM answers WHERE id IN ({marks})", chunk
            ):
                if by_id[row[0]] != row:
                    raise StoreError(
                        f"answer {row[0]} is already stored with other content; nothing imported"
                    )
                found.add(row[0])
        return found

    # -- visits, for the repeated-press rule ------------------------------------------------------------

    def visit(self, session_id: str) -> tuple[dict[str, str], bool] | None:
        """The answers of a stored visit (question -> value) and its flag, or None for a visit not seen yet."""
        rows = self.conn.execute(
            "SELECT question_id, value, suspect FROM answers WHERE session_id = ?", (session_id,)
        ).fetchall()
        if not rows:
            return None
        return {question: value for question, value, _ in rows}, bool(rows[0][2])

    def visits(self, session_ids: Sequence[str]) -> dict[str, dict[str, tuple[str, str]]]:
        """Stored answers of these visits: session -> question -> (answer id, value)."""
        found: dict[str, dict[str, tuple[str, str]]] = {}
        for chunk in _chunks(list(session_ids), 500):
            marks = ", ".join("?" * len(chunk))
            for sid, qid, answer_id, value in self.conn.execute(
                f"SELECT session_id, question_id, id, value FROM answers WHERE session_id IN ({marks})", chunk
            ):
                found.setdefault(sid, {})[qid] = (answer_id, value)
        return found

    def pruned_ids(self, answer_ids: Sequence[str]) -> set[str]:
        """Which of these answers were stored once and removed by retention."""
        found: set[str] = set()
        for chunk in _chunks(list(answer_ids), 500):
            marks = ", ".join("?" * len(chunk))
            found.update(
                r[0] for r in self.conn.execute(f"SELECT id FROM pruned WHERE id IN ({marks})", chunk)
            )
        return found

    def existing_sessions(self, session_ids: list[str]) -> dict[str, int]:
        """Of these visits, those already stored -> their stored suspect mark (the rule before visit flags)."""
        found: dict[str, int] = {}
        for chunk in _chunks(session_ids, 500):
            marks = ", ".join("?" * len(chunk))
            for session_id, suspect in self.conn.execute(
                f"SELECT session_id, max(suspect) FROM answers WHERE session_id IN ({marks}) "
                "GROUP BY session_id",
                chunk,
            ):
                found[session_id] = suspect
        return found

    def visits_before(self, at: dt.datetime, count: int) -> list[Visit]:
        """The last `count` visits whose answers came before `at`, in time order."""
        per_visit = max(1, len(self.config.survey.questions))
        rows = self.conn.execute(
            "SELECT session_id, question_id, value, created_at FROM answers "
            "WHERE created_at < ? ORDER BY created_at DESC LIMIT ?",
            (format_utc(at), (count + 1) * per_visit),
        ).fetchall()
        visits = _visits_of(reversed(rows))
        # The oldest one read may have lost answers to the limit: leave it out.
        return visits[1:] if len(rows) == (count + 1) * per_visit else visits

    def visits_between(self, first: dt.datetime, last: dt.datetime) -> list[Visit]:
        """The visits with answers from `first` to `last` (those answers only), in time order."""
        rows = self.conn.execute(
            "SELECT session_id, question_id, value, created_at FROM answers "
            "WHERE created_at >= ? AND created_at <= ? ORDER BY created_at, id",
            (format_utc(first), format_utc(last)),
        )
        return _visits_of(rows)

    def recent_visits(self, count: int) -> list[tuple[str, list[tuple[str, str, dt.datetime]], bool]]:
        """The last `count` visits, in time order: (session id, answers as (question, value, time), the
        suspect mark of its first answer)."""
        per_visit = max(1, len(self.config.survey.questions))
        rows = self.conn.execute(
            "SELECT session_id, question_id, value, created_at, suspect FROM answers "
            "ORDER BY created_at DESC LIMIT ?",
            ((count + 1) * per_visit,),
        ).fetchall()
        visits: dict[str, tuple[list[tuple[str, str, dt.datetime]], bool]] = {}
        for session_id, question, value, created_at, suspect in reversed(rows):
            given = visits.setdefault(session_id, ([], bool(suspect)))
            given[0].append((question, value, parse_stored(created_at)))
        found = [(session_id, given, suspect) for session_id, (given, suspect) in visits.items()]
        # The oldest one read may have lost answers to the limit: leave it out.
        if len(rows) == (count + 1) * per_visit:
            found = found[1:]
        return found[-count:]

    # -- reading ------------------------------------------------------------------------------------------

    def count_rows(self, start: dt.date, end: dt.date) -> list[CountRow]:
        """The materialised daily counts from start to end (store-local days, both included)."""
        from kiosk.domain.scoring import CountRow  # for the figures, not on the way to the first frame

        return [
            CountRow(
                day=dt.date.fromisoformat(r["local_day"]),
                question=r["question_id"],
                value=r["value"],
                suspect=bool(r["suspect"]),
                count=r["n"],
                kind=r["kind"] or None,
            )
            for r in self.db.query(
                "SELECT local_day, question_id, kind, value, suspect, n FROM daily_counts "
                "WHERE local_day BETWEEN ? AND ?",
                [start.isoformat(), end.isoformat()],
            )
        ]

    def visits_by_quarter_hour(
        self, start: dt.date, end: dt.date, question_id: str
    ) -> list[tuple[dt.datetime, int]]:
        """Kept answers to `question_id` (visits, for the first question) of the store-local days start..end,
        counted per UTC quarter-hour (the hourly pattern: every time zone is a whole number of quarters off)."""
        rows = self.conn.execute(
            "SELECT substr(created_at, 1, 14) || printf('%02d', CAST(substr(created_at, 15, 2) AS INTEGER) "
            "/ 15 * 15) AS quarter, count(*) FROM answers "
            "WHERE question_id = ? AND created_at >= ? AND created_at < ? AND local_day BETWEEN ? AND ? "
            f"AND NOT {SUSPECT_OF_VISIT.removesuffix(' AS suspect')} GROUP BY quarter",
            (
                question_id,
                (start - dt.timedelta(days=2)).isoformat(),
                (end + dt.timedelta(days=2)).isoformat(),
                start.isoformat(),
                end.isoformat(),
            ),
        ).fetchall()
        return [
            (dt.datetime.strptime(quarter, "%Y-%m-%dT%H:%M").replace(tzinfo=dt.UTC), count)
            for quarter, count in rows
        ]

    def answers(self, start: dt.date | None = None, end: dt.date | None = None) -> Iterator[dict[str, Any]]:
        """Every stored answer (suspect ones included) of the store-local days in range, in time order."""
        where, params = [], []
        # A local day lies within a day of the UTC day of the same date: bounding created_at that widely
        # lets the created_at index find the rows; local_day then cuts exactly.
        if start is not None:
            where.append("created_at >= ? AND local_day >= ?")
            params += [(start - dt.timedelta(days=2)).isoformat(), start.isoformat()]
        if end is not None:
            where.append("created_at < ? AND local_day <= ?")
            params += [(end + dt.timedelta(days=2)).isoformat(), end.isoformat()]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(SUSPECT_OF_VISIT if c == "suspect" else c for c in _ANSWER_COLUMNS[:-1])
        yield from self.db.query(
            f"SELECT {columns}, synced_at, ? AS store_id, CASE device_id WHEN '' THEN ? ELSE device_id END "
            f"AS device_id FROM answers {clause} ORDER BY created_at, id",
            [self.config.store.id, self.config.device_id, *params],
        )

    def import_namespace(self) -> uuid.UUID:
        """The namespace of ids made for imported answers that have none: private to this kiosk (its store
        and device ids and a secret made once, kept in its database), so nobody can predict them."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'import_secret'").fetchone()
        if row is None:
            secret = uuid.uuid4().hex + uuid.uuid4().hex
            with self.writing():
                self.conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('import_secret', ?)", (secret,)
                )
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'import_secret'").fetchone()
        return uuid.uuid5(uuid.NAMESPACE_OID, f"{self.config.store.id}|{self.config.device_id}|{row[0]}")

    def answer_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def note_set_aside(self, kept: SetAside) -> None:
        """Remember in this (fresh) database that a damaged one was kept aside, for the manager and doctor."""
        value = json.dumps({"file": kept.file.name, "reason": kept.reason, "at": format_utc(kept.at)})
        with self.writing():
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (f"set_aside:{kept.file.name}", value),
            )

    def set_aside(self) -> list[SetAside]:
        """The damaged databases kept aside beside this one, as long as the file is still there."""
        noted = {kept.file.name: kept for kept in _set_aside_notes(self.db.conn, self.path)}
        # A file without a note: the start that kept it aside stopped before it could write the note.
        return [
            noted.get(file.name) or SetAside(file, "reason not recorded", _mtime(file))
            for file in set_aside_files(self.path)
        ]


def _visits_of(rows: Iterable[tuple[str, str, str, str]]) -> list[Visit]:
    """(session, question, value, created_at) rows in time order -> visits in order of their first answer."""
    answers: dict[str, list[tuple[str, str, dt.datetime]]] = {}
    for session_id, question, value, created_at in rows:
        answers.setdefault(session_id, []).append((question, value, parse_stored(created_at)))
    return [Visit(session_id, tuple(given)) for session_id, given in answers.items()]


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_only_dir(directory: Path) -> bool:
    """Whether files cannot be created in `directory` (a read-only mount, or no write permission)."""
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(directory, os.W_OK)


def explain(path: Path, error: sqlite3.Error) -> str:
    text = str(error)
    if path.parent.is_dir() and read_only_dir(path.parent):
        return f"{path}: the data directory {path.parent} is read-only; nothing can be stored until it is writable"
    if isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return f"{path}: the database is locked by another process; try again when it has finished"
    if "readonly" in text or "read-only" in text:
        return f"{path}: the database is read-only (check the data directory's permissions and free space)"
    if "unable to open" in text:
        return f"{path}: cannot open the database (does the data directory exist and is it writable?)"
    if "disk is full" in text or "disk I/O" in text:
        return f"{path}: cannot write: {text}"
    return f"{path}: {text}"


# -- a damaged database at start ---------------------------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class SetAside:
    """A damaged database file renamed out of the way (never deleted) when a fresh one was started."""

    file: Path
    reason: str
    at: dt.datetime


def open_store(
    path: Path, config: KioskConfig, *, busy_timeout_ms: int = 5000, recover: bool = False
) -> ResponseStore:
    """Open the store, first checking that the file is a kiosk database this release can use.

    A damaged, foreign or newer file raises DamagedDatabase, or with `recover` is renamed aside (with its
    -wal and -shm) as `kiosk.db.damaged-<UTC time>` and a fresh database is started, which remembers it
    (see `ResponseStore.set_aside`). `recover` also runs `PRAGMA quick_check` first, a full read of the file
    that an unattended start can afford once; without it only the cheap checks run. A locked or read-only
    database is never taken for a damaged one: that raises StoreError as before.
    """
    reason = inspect_database(path, thorough=recover, busy_timeout_ms=busy_timeout_ms)
    if reason is not None and not recover:
        raise DamagedDatabase(
            f"{path}: {reason}; the file is left as it is (`kiosk run` keeps it aside and starts a fresh "
            "database; `kiosk doctor` says more)"
        )
    kept = None if reason is None else set_aside_database(path, reason, dt.datetime.now(dt.UTC))
    try:
        store = ResponseStore(path, config, busy_timeout_ms=busy_timeout_ms)
    except DamagedDatabase as error:
        if not recover or kept is not None:
            raise
        # Damage the checks above did not see: set it aside all the same, once.
        kept = set_aside_database(path, str(error).removeprefix(f"{path}: "), dt.datetime.now(dt.UTC))
        store = ResponseStore(path, config, busy_timeout_ms=busy_timeout_ms)
    if kept is not None:
        store.note_set_aside(kept)
    return store


def _header_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(100)
    if size < 100:
        return f"truncated ({size} bytes, shorter than a SQLite header)"
    if not header.startswith(SQLITE_MAGIC):
        return "not a SQLite database (unrecognised content)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    wal = path.with_name(path.name + "-wal")
    # While a WAL holds frames, the file may be shorter than its header says (a checkpoint cut short by a
    # crash); SQLite recovers that from the WAL, so the size is only checked without one.
    size_valid = header[24:28] == header[92:96]
    if (not wal.exists() or wal.stat().st_size == 0) and size_valid and pages and size < pages * page_size:
        return f"truncated ({size} bytes where its header says {pages * page_size})"
    return None


def inspect_database(path: Path, *, thorough: bool, busy_timeout_ms: int = 5000) -> str | None:
    """Why the file cannot be this release's kiosk database (one line), or None when it can or is missing.

    StoreError when it cannot be read for another reason (locked, permissions): that is not damage.
    """
    try:
        if not path.exists() or path.stat().st_size == 0:
            return None
        problem = _header_problem(path)
    except OSError as error:
        raise StoreError(f"{path}: cannot read the database ({error.strerror})") from None
    if problem is not None:
        return problem
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000, isolation_level=None)
    except sqlite3.OperationalError as error:
        raise StoreError(explain(path, error)) from None
    try:
        return _schema_problem(conn) or (_integrity_problem(conn) if thorough else None)
    except sqlite3.OperationalError as error:
        if "malformed" in str(error):
            return f"damaged ({error})"
        raise StoreError(explain(path, error)) from None
    except sqlite3.DatabaseError as error:
        return f"damaged ({error})"
    finally:
        conn.close()


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != 0:
        return f"schema version {version} is unknown to this release (written by a newer kiosk?)"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables <= {"_sqlite_migrations", "sqlite_sequence"}:
        # Empty, or a first start cut short: sqlite-utils creates its bookkeeping table before the first
        # migration's transaction. The migrations create everything.
        return None
    if "_sqlite_migrations" not in tables or "answers" not in tables:
        return f"not a kiosk database (tables: {', '.join(sorted(tables))})"
    applied = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
        )
    ]
    unknown = [name for name in applied if name not in SCHEMA]
    if unknown:
        return f"written by a newer release (schema changes unknown here: {', '.join(unknown)})"
    columns = {row[1] for row in conn.execute("PRAGMA table_info(answers)")}
    missing = [column for column in (*_BASE_COLUMNS, "synced_at") if column not in columns]
    if missing:
        return f"wrong schema (answers has no {', '.join(missing)})"
    return None


def _integrity_problem(conn: sqlite3.Connection) -> str | None:
    check = str(conn.execute("PRAGMA quick_check(1)").fetchone()[0])
    return None if check == "ok" else f"damaged (quick_check: {check})"


def set_aside_database(path: Path, reason: str, now: dt.datetime) -> SetAside:
    """Rename the database and its -wal/-shm to `<name>.damaged-<UTC time>`; nothing is deleted."""
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    serial = 1
    while target.exists():
        serial += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{serial}")
    try:
        # The companions first: a -wal left behind under the old name would be replayed into the fresh
        # database that takes the name.
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                companion.rename(target.with_name(target.name + suffix))
        path.rename(target)
        _fsync_dir(path.parent)
    except OSError as error:
        raise StoreError(
            f"{path}: {reason}, and it cannot be set aside ({error.strerror}); nothing can be stored"
        ) from None
    return SetAside(file=target, reason=reason, at=now)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _set_aside_notes(conn: sqlite3.Connection, path: Path) -> list[SetAside]:
    notes = []
    for (value,) in conn.execute("SELECT value FROM meta WHERE key LIKE 'set_aside:%' ORDER BY key"):
        note = json.loads(value)
        notes.append(SetAside(path.with_name(note["file"]), note["reason"], parse_stored(note["at"])))
    return notes


def set_aside_files(path: Path) -> list[Path]:
    """The kept-aside damaged databases beside `path` (their -wal/-shm companions not listed)."""
    return sorted(
        p for p in path.parent.glob(f"{path.name}.damaged-*") if not p.name.endswith(("-wal", "-shm"))
    )


def read_set_aside_notes(path: Path) -> dict[str, SetAside]:
    """What the database at `path` says about the files it replaced (by file name); {} when it cannot tell."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return {kept.file.name: kept for kept in _set_aside_notes(conn, path)}
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, KeyError):
        return {}
