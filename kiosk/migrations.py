"""The response store's schema, as sqlite-utils migrations, in the order they were made (kiosk.storage runs
them when it opens a database that lacks one). A new migration goes at the end, and its name into
`kiosk.storage.SCHEMA`, which lets a start skip importing sqlite-utils when nothing is pending.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk")


@migrations()
def m001_answers(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE answers (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            question_id TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL,
            local_day TEXT NOT NULL,
            language TEXT NOT NULL,
            survey_version TEXT NOT NULL,
            suspect INTEGER NOT NULL DEFAULT 0 CHECK (suspect IN (0, 1)),
            synced_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX answers_session ON answers (session_id, created_at)")
    db.execute("CREATE INDEX answers_created ON answers (created_at)")
    db.execute("CREATE INDEX answers_unsynced ON answers (created_at) WHERE synced_at IS NULL")
    db.execute(
        """
        CREATE TABLE daily_counts (
            local_day TEXT NOT NULL,
            question_id TEXT NOT NULL,
            value TEXT NOT NULL,
            suspect INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (local_day, question_id, value, suspect)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TRIGGER answers_count AFTER INSERT ON answers BEGIN
            INSERT INTO daily_counts (local_day, question_id, value, suspect, n)
            VALUES (new.local_day, new.question_id, new.value, new.suspect, 1)
            ON CONFLICT (local_day, question_id, value, suspect) DO UPDATE SET n = n + 1;
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER answers_immutable
        BEFORE UPDATE OF id, session_id, question_id, value, created_at, local_day, language,
                         survey_version, suspect ON answers
        BEGIN
            SELECT RAISE(ABORT, 'answers are immutable once written');
        END
        """
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_answer_kinds(db: Database) -> None:
    """Self-describing answers: each carries the kind it was given on, and the counts keep kinds apart.

    Answers stored before this change have kind '' (scored as the question's current kind, as they were).
    `survey_versions` keeps every survey this kiosk has recorded answers on; `pruned` remembers the ids of
    answers removed by retention, so a re-import of them never counts them again.
    """
    db.execute("ALTER TABLE answers ADD COLUMN kind TEXT NOT NULL DEFAULT ''")
    # The device that made the answer when it is not this one (imported from a replaced device's export):
    # head office de-duplicates per store and device, so such answers keep their first device's id.
    db.execute("ALTER TABLE answers ADD COLUMN device_id TEXT NOT NULL DEFAULT ''")
    db.execute(
        """
        CREATE TABLE daily_counts_v2 (
            local_day TEXT NOT NULL,
            question_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            suspect INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (local_day, question_id, kind, value, suspect)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "INSERT INTO daily_counts_v2 (local_day, question_id, kind, value, suspect, n) "
        "SELECT local_day, question_id, '', value, suspect, n FROM daily_counts"
    )
    db.execute("DROP TRIGGER answers_count")
    db.execute("DROP TABLE daily_counts")
    db.execute("ALTER TABLE daily_counts_v2 RENAME TO daily_counts")
    db.execute(
        """
        CREATE TRIGGER answers_count AFTER INSERT ON answers BEGIN
            INSERT INTO daily_counts (local_day, question_id, kind, value, suspect, n)
            VALUES (new.local_day, new.question_id, new.kind, new.value, new.suspect, 1)
            ON CONFLICT (local_day, question_id, kind, value, suspect) DO UPDATE SET n = n + 1;
        END
        """
    )
    db.execute("DROP TRIGGER answers_immutable")
    db.execute(
        """
        CREATE TRIGGER answers_immutable
        BEFORE UPDATE OF id, session_id, question_id, value, created_at, local_day, language,
                         survey_version, suspect, kind, device_id ON answers
        BEGIN
            SELECT RAISE(ABORT, 'answers are immutable once written');
        END
        """
    )
    db.execute(
        "CREATE TABLE survey_versions (version TEXT PRIMARY KEY, definition TEXT NOT NULL, "
        "first_seen TEXT NOT NULL)"
    )
    db.execute("CREATE TABLE pruned (id TEXT PRIMARY KEY) WITHOUT ROWID")


@migrations()
def m020_visit_flags(db: Database) -> None:
    """Repeated presses flagged per visit, once the visit has ended (kiosk.domain.repeats).

    Answers never change: a flag is a row here, and the counts follow it. An answer stored with
    `suspect = 1` (the rule before this table) keeps that meaning; a visit's answers are suspect when
    either says so.
    """
    db.execute(
        "CREATE TABLE visit_flags (session_id TEXT PRIMARY KEY, flagged_at TEXT NOT NULL) WITHOUT ROWID"
    )
    db.execute("DROP TRIGGER answers_count")
    db.execute(
        """
        CREATE TRIGGER answers_count AFTER INSERT ON answers BEGIN
            INSERT INTO daily_counts (local_day, question_id, kind, value, suspect, n)
            VALUES (
                new.local_day, new.question_id, new.kind, new.value,
                new.suspect OR EXISTS (SELECT 1 FROM visit_flags f WHERE f.session_id = new.session_id),
                1
            )
            ON CONFLICT (local_day, question_id, kind, value, suspect) DO UPDATE SET n = n + 1;
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER visit_flag_counts AFTER INSERT ON visit_flags BEGIN
            UPDATE daily_counts SET n = n - (
                SELECT count(*) FROM answers a
                WHERE a.session_id = new.session_id AND a.suspect = 0 AND a.local_day = daily_counts.local_day
                  AND a.question_id = daily_counts.question_id AND a.kind = daily_counts.kind
                  AND a.value = daily_counts.value
            )
            WHERE suspect = 0 AND (local_day, question_id, kind, value) IN (
                SELECT local_day, question_id, kind, value FROM answers
                WHERE session_id = new.session_id AND suspect = 0
            );
            INSERT INTO daily_counts (local_day, question_id, kind, value, suspect, n)
            SELECT local_day, question_id, kind, value, 1, count(*) FROM answers
            WHERE session_id = new.session_id AND suspect = 0
            GROUP BY local_day, question_id, kind, value
            ON CONFLICT (local_day, question_id, kind, value, suspect) DO UPDATE SET n = n + excluded.n;
            DELETE FROM daily_counts WHERE n = 0;
        END
        """
    )


def apply(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations through this connection."""
    migrations.apply(Database(conn, execute_plugins=False))
