"""The kiosk's outbox: unsynced answers, the quarantine and the sync state, in the kiosk's own SQLite file.

The sync tables have their own migration set (`Migrations("sync")`), applied here, so the core schema's
list is untouched. An answer is pending while `synced_at` is NULL and it is not quarantined. Marking a batch
synced and recording the outcome happen in one transaction: a crash leaves either all of it or none, and
"none" only means the next upload is answered `duplicate`.

One Outbox per thread: it uses the connection of the ResponseStore it is given.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from kiosk.domain.days import format_utc
from kiosk.storage import ResponseStore, StoreError
from sync.planner import Quarantined
from sync.protocol import ANSWER_FIELDS

migrations = Migrations("sync")


@migrations()
def m001_sync_state(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE sync_quarantine (
            answer_id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            reason TEXT NOT NULL,
            quarantined_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_visit_flags_sent(db: Database) -> None:
    """Visit flags (kiosk.storage's visit_flags) central has acknowledged. A flag without a row here is sent
    with the next upload; flags that existed before this migration are all sent once (central applies a
    flag only to answers not yet suspect, so that changes nothing twice)."""
    db.execute(
        "CREATE TABLE sync_flags_sent (session_id TEXT PRIMARY KEY, sent_at TEXT NOT NULL) WITHOUT ROWID"
    )


# A visit flagged as repeated presses (kiosk.storage's visit_flags) sends its answers as suspect.
_SUSPECT = "(a.suspect OR EXISTS (SELECT 1 FROM visit_flags f WHERE f.session_id = a.session_id)) AS suspect"
SELECT_PENDING = f"""
    SELECT {", ".join(_SUSPECT if column == "suspect" else column for column, _ in ANSWER_FIELDS)},
        device_id AS origin_device
    FROM answers a
    WHERE a.synced_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.answer_id = a.id)
    ORDER BY a.created_at, a.id
    LIMIT ?
"""

SELECT_PENDING_FLAGS = """
    SELECT f.session_id FROM visit_flags f
    WHERE NOT EXISTS (SELECT 1 FROM sync_flags_sent s WHERE s.session_id = f.session_id)
    ORDER BY f.flagged_at, f.session_id
    LIMIT ?
"""

COUNT_PENDING = """
    SELECT count(*) FROM answers a
    WHERE a.synced_at IS NULL AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.answer_id = a.id)
"""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the manager screen and `kiosk status` show."""

    pending: int
    quarantined: int
    synced: int
    last_success_at: str | None
    last_attempt_at: str | None
    last_error: str | None
    last_error_at: str | None
    auth_problem: str | None
    next_attempt_at: str | None
    config_error: str | None
    last_heartbeat_at: str | None
    quarantine_reasons: tuple[str, ...] = ()  # the latest reasons head office gave, newest first

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class Outbox:
    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self.db: Database = store.db
        try:
            migrations.apply(self.db)
        except sqlite3.OperationalError as error:
            raise StoreError(f"{store.path}: {error}") from None

    # -- reading ------------------------------------------------------------------------------------------

    def pending_batch(self, limit: int) -> list[dict[str, Any]]:
        return list(self.db.query(SELECT_PENDING, [limit]))

    def pending_flags(self, limit: int) -> list[str]:
        """Session ids of visits flagged as repeated presses that central has not acknowledged yet."""
        return [row[0] for row in self.db.execute(SELECT_PENDING_FLAGS, [limit]).fetchall()]

    def pending_count(self) -> int:
        return int(self.db.execute(COUNT_PENDING).fetchone()[0])

    def state(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.db.query("SELECT key, value FROM sync_state")}

    def quarantine(self) -> list[dict[str, Any]]:
        """Every quarantined answer with its reason (kept, never retried; see `kiosk status --quarantined`)."""
        return list(
            self.db.query(
                "SELECT q.status, q.reason, q.quarantined_at, a.* FROM sync_quarantine q "
                "JOIN answers a ON a.id = q.answer_id ORDER BY a.created_at"
            )
        )

    def status(self) -> SyncStatus:
        return read_status_from(self.db.conn)

    # -- writing ------------------------------------------------------------------------------------------

    def set_state(self, values: dict[str, str | None]) -> None:
        with self.store.writing():
            self._set(values)

    def _set(self, values: dict[str, str | None]) -> None:
        conn = self.db.conn
        for key, value in values.items():
            if value is None:
                conn.execute("DELETE FROM sync_state WHERE key = ?", [key])
            else:
                conn.execute(
                    "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )

    def record_delivery(
        self,
        synced: Sequence[str],
        quarantined: Sequence[Quarantined],
        now: dt.datetime,
        central_held: int | None = None,
        flags_sent: Sequence[str] = (),
    ) -> None:
        """Mark delivered answers synced, quarantine the refused ones and mark the visit flags central
        acknowledged (`flags_sent`) sent, in one transaction.

        While answers are quarantined, `last_error` says so (with the latest reason): it stays until the
        cause is gone (`kiosk sync --requeue` after head office fixed it). `central_held`: what central
        says it holds of this device's answers now (restore detection)."""
        stamp = format_utc(now)
        with self.store.writing():
            conn = self.db.conn
            conn.executemany(
                "UPDATE answers SET synced_at = ? WHERE id = ? AND synced_at IS NULL",
                [(stamp, answer_id) for answer_id in synced],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO sync_quarantine (answer_id, status, reason, quarantined_at) "
                "VALUES (?, ?, ?, ?)",
                [(q.answer_id, q.status, q.reason, stamp) for q in quarantined],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO sync_flags_sent (session_id, sent_at) VALUES (?, ?)",
                [(session_id, stamp) for session_id in flags_sent],
            )
            refused = quarantine_error(conn)
            self._set(
                {
                    "last_success_at": stamp,
                    "last_attempt_at": stamp,
                    "failures": None,
                    "next_attempt_at": None,
                    "last_error": refused,
                    "last_error_at": stamp if refused else None,
                    "auth_problem": None,
                }
            )
            if central_held is not None:
                self._set({"central_held": str(central_held)})

    def central_held(self) -> int | None:
        """The latest count of this device's answers that central reported holding."""
        value = self.state().get("central_held")
        return int(value) if value and value.isdigit() else None

    def resend_after_restore(self, central_held: int, now: dt.datetime) -> int:
        """Central holds fewer answers than it did (a backup was restored): every answer still here is
        pending again (central answers `duplicate` for those it kept, so nothing is counted twice), and so is
        every visit flag (the restored copy may predate some)."""
        with self.store.writing():
            count = self.db.conn.execute(
                "UPDATE answers SET synced_at = NULL WHERE synced_at IS NOT NULL"
            ).rowcount
            self.db.conn.execute("DELETE FROM sync_flags_sent")
            self._set(
                {
                    "central_held": str(central_held),
                    "restore_detected_at": format_utc(now),
                }
            )
        return count

    def requeue_quarantined(self) -> int:
        """Send the quarantined answers again (after head office fixed the cause); returns how many."""
        with self.store.writing():
            count = self.db.conn.execute("DELETE FROM sync_quarantine").rowcount
            self._set({"last_error": None, "last_error_at": None})
        return count

    def record_failure(
        self, reason: str, now: dt.datetime, next_attempt: dt.datetime | None, *, auth: bool = False
    ) -> int:
        """Remember a failed attempt; returns the number of consecutive failures so far."""
        stamp = format_utc(now)
        with self.store.writing():
            row = self.db.conn.execute("SELECT value FROM sync_state WHERE key = 'failures'").fetchone()
            failures = (int(row[0]) if row else 0) + 1
            self._set(
                {
                    "failures": str(failures),
                    "last_attempt_at": stamp,
                    "last_error": reason,
                    "last_error_at": stamp,
                    "auth_problem": reason if auth else None,
                    "next_attempt_at": None if next_attempt is None else format_utc(next_attempt),
                }
            )
        return failures

    def failures(self) -> int:
        return int(self.state().get("failures", "0"))

    def prune_synced(self, before: dt.datetime, chunk: int = 5000) -> int:
        """Delete answers uploaded before `before`; unsynced and quarantined ones are never deleted.

        The daily counts are kept (they are maintained by an INSERT trigger, not recomputed), so scores of
        pruned days do not change; the pruned ids are remembered, so importing them again adds nothing.
        Deleted in chunks so the tap that arrives meanwhile never waits long.
        """
        cutoff = format_utc(before)
        total = 0
        while True:
            with self.store.writing():
                doomed = "SELECT rowid FROM answers WHERE synced_at IS NOT NULL AND synced_at < ? LIMIT ?"
                self.db.conn.execute(
                    f"INSERT OR IGNORE INTO pruned (id) SELECT id FROM answers WHERE rowid IN ({doomed})",
                    [cutoff, chunk],
                )
                deleted = self.db.conn.execute(
                    f"DELETE FROM answers WHERE rowid IN ({doomed})", [cutoff, chunk]
                ).rowcount
            total += deleted
            if deleted < chunk:
                return total


def quarantine_error(conn: sqlite3.Connection) -> str | None:
    """What the manager reads while answers are quarantined: how many and the latest reason."""
    row = conn.execute(
        "SELECT count(*), (SELECT reason FROM sync_quarantine ORDER BY quarantined_at DESC, rowid DESC "
        "LIMIT 1) FROM sync_quarantine"
    ).fetchone()
    if not row or not row[0]:
        return None
    return f"{row[0]} answers refused by head office (kiosk status --quarantined): {row[1]}"


def quarantine_reasons(conn: sqlite3.Connection, limit: int = 5) -> tuple[str, ...]:
    return tuple(
        r[0]
        for r in conn.execute(
            "SELECT reason FROM sync_quarantine GROUP BY reason ORDER BY max(quarantined_at) DESC LIMIT ?",
            [limit],
        )
    )


def read_status_from(conn: sqlite3.Connection) -> SyncStatus:
    def scalar(sql: str) -> int:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    try:
        state = dict(conn.execute("SELECT key, value FROM sync_state").fetchall())
        pending = scalar(COUNT_PENDING)
        quarantined = scalar("SELECT count(*) FROM sync_quarantine")
        reasons = quarantine_reasons(conn)
    except sqlite3.OperationalError:
        # The sync tables do not exist yet: nothing was ever synced.
        state, pending, quarantined = {}, scalar("SELECT count(*) FROM answers WHERE synced_at IS NULL"), 0
        reasons = ()
    synced = scalar("SELECT count(*) FROM answers WHERE synced_at IS NOT NULL")
    return SyncStatus(
        pending=pending,
        quarantined=quarantined,
        synced=synced,
        last_success_at=state.get("last_success_at"),
        last_attempt_at=state.get("last_attempt_at"),
        last_error=state.get("last_error"),
        last_error_at=state.get("last_error_at"),
        auth_problem=state.get("auth_problem"),
        next_attempt_at=state.get("next_attempt_at"),
        config_error=state.get("config_error"),
        last_heartbeat_at=state.get("last_heartbeat_at"),
        quarantine_reasons=reasons,
    )


def read_status(database: Path) -> SyncStatus:
    """The sync status from another thread (the manager screen): its own short-lived read-only connection."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        return read_status_from(conn)
    finally:
        conn.close()
