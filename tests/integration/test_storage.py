"""The SQLite store: durable before `record` returns, immutable answers, consistent daily counts."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.survey import AnswerError, KioskConfig
from kiosk.recording import AnswerRecorder, new_id
from kiosk.storage import SUSPECT_OF_VISIT, NewAnswer, ResponseStore, StoreError
from tests.conftest import utc


def test_answer_is_committed_before_record_returns(store: ResponseStore) -> None:
    answer = AnswerRecorder(store).record(NewAnswer("satisfaction", 4, utc(2026, 11, 1, 9)))
    other = sqlite3.connect(store.path)
    row = other.execute(
        "SELECT question_id, value, local_day, suspect FROM answers WHERE id = ?", [answer.id]
    )
    assert row.fetchone() == ("satisfaction", "4", "2026-11-01", 0)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_answer_survives_the_process_being_killed_right_after_record(
    tmp_path: Path, config_file: Path
) -> None:
    db = tmp_path / "kiosk.db"
    script = textwrap.dedent(
        f"""
        import datetime as dt, os, signal, sys
        from pathlib import Path
        from kiosk.config import load_config
        from kiosk.recording import AnswerRecorder
        from kiosk.storage import NewAnswer, ResponseStore
        store = ResponseStore(Path({str(db)!r}), load_config(Path({str(config_file)!r})))
        answer = AnswerRecorder(store).record(NewAnswer("satisfaction", 2, dt.datetime.now(dt.UTC)))
        print(answer.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    acknowledged = done.stdout.strip()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT value FROM answers WHERE id = ?", [acknowledged]).fetchone() == ("2",)


def test_stored_answers_cannot_be_changed_but_can_be_marked_synced(store: ResponseStore) -> None:
    answer = AnswerRecorder(store).record(NewAnswer("recommend", 3, utc(2026, 11, 1, 9)))
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store.db.execute("UPDATE answers SET value = '10' WHERE id = ?", [answer.id])
    store.db.execute("UPDATE answers SET synced_at = '2026-11-01T10:00:00.000Z' WHERE id = ?", [answer.id])
    row = next(store.answers())
    assert (row["value"], row["synced_at"]) == ("3", "2026-11-01T10:00:00.000Z")


@settings(max_examples=300)
@given(random=st.binary(min_size=16, max_size=16))
def test_answer_ids_are_random_uuids_as_before(random: bytes) -> None:
    with mock.patch("os.urandom", return_value=random):
        made = new_id()
    assert made == str(uuid.UUID(bytes=random, version=4))


def test_refused_answers_store_nothing(store: ResponseStore) -> None:
    for question, value in [("satisfaction", 6), ("satisfaction", "abc"), ("nope", 1), ("reason", "parking")]:
        with pytest.raises(AnswerError):
            AnswerRecorder(store).record(NewAnswer(question, value, utc(2026, 11, 1, 9)))
    assert store.answer_count() == 0


def test_a_visit_answers_each_question_once(store: ResponseStore) -> None:
    first = AnswerRecorder(store).record(NewAnswer("satisfaction", 1, utc(2026, 11, 1, 9)))
    AnswerRecorder(store).record(
        NewAnswer("reason", "waiting", utc(2026, 11, 1, 9, 0, 5), session_id=first.session_id)
    )
    with pytest.raises(AnswerError, match="already has an answer"):
        AnswerRecorder(store).record(
            NewAnswer("reason", "price", utc(2026, 11, 1, 9, 0, 8), session_id=first.session_id)
        )


def test_an_older_visit_named_by_its_id_is_checked_against_its_answers(store: ResponseStore) -> None:
    # As the screen does: the visit's id is made before its first answer. Later visits push it out of the
    # recorder's memory; an answer naming it is still checked against what the database holds.
    recorder = AnswerRecorder(store)
    first = recorder.record(NewAnswer("satisfaction", 4, utc(2026, 11, 1, 9), session_id="made-by-screen"))
    assert first.session_id == "made-by-screen"
    for minute in range(1, 8):
        recorder.record(
            NewAnswer("satisfaction", 5, utc(2026, 11, 1, 9, minute), session_id=f"later-{minute}")
        )
    with pytest.raises(AnswerError, match="already has an answer"):
        recorder.record(NewAnswer("satisfaction", 1, utc(2026, 11, 1, 9, 30), session_id="made-by-screen"))
    recorder.record(NewAnswer("recommend", 8, utc(2026, 11, 1, 9, 31), session_id="made-by-screen"))
    stored = store.db.execute("SELECT count(*) FROM answers WHERE session_id = 'made-by-screen'")
    assert stored.fetchone()[0] == 2


def test_local_day_follows_the_store_time_zone(store: ResponseStore) -> None:
    late = AnswerRecorder(store).record(
        NewAnswer("satisfaction", 5, utc(2026, 10, 24, 22, 30))
    )  # 00:30 CEST on the 25th
    assert late.local_day == dt.date(2026, 10, 25)


answers_strategy = st.lists(
    st.tuples(
        st.sampled_from(["satisfaction", "recommend"]),
        st.integers(1, 5),
        st.integers(0, 40 * 86400),
    ),
    max_size=60,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers_strategy)
def test_materialised_daily_counts_equal_counting_the_answers(
    tmp_path_factory: pytest.TempPathFactory, config: KioskConfig, answers: list[tuple[str, int, int]]
) -> None:
    with ResponseStore(tmp_path_factory.mktemp("db") / "kiosk.db", config) as store:
        for question, value, offset in answers:
            AnswerRecorder(store).record(
                NewAnswer(question, value, utc(2026, 9, 1) + dt.timedelta(seconds=offset))
            )
        raw = {
            (r["local_day"], r["question_id"], r["value"], bool(r["suspect"])): r["n"]
            for r in store.db.query(
                f"SELECT local_day, question_id, value, {SUSPECT_OF_VISIT}, count(*) AS n FROM answers "
                "GROUP BY 1, 2, 3, 4"
            )
        }
        rows = store.count_rows(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
        assert {(r.day.isoformat(), r.question, r.value, r.suspect): r.count for r in rows} == raw


def test_import_is_all_or_nothing_and_idempotent(store: ResponseStore) -> None:
    rows = [
        NewAnswer("satisfaction", 3, utc(2026, 11, 1, 9, i), id=f"00000000-0000-4000-8000-{i:012d}")
        for i in range(10)
    ]
    assert AnswerRecorder(store).import_answers(rows).imported == 10
    again = AnswerRecorder(store).import_answers(rows)
    assert (again.imported, again.already_present) == (0, 10)
    changed = [NewAnswer("satisfaction", 4, utc(2026, 11, 1, 9, 0), id=rows[0].id)]
    with pytest.raises(StoreError, match="already stored with other content"):
        AnswerRecorder(store).import_answers([*changed, NewAnswer("satisfaction", 4, utc(2026, 11, 2, 9))])
    assert store.answer_count() == 10


def test_write_while_another_process_holds_the_database_fails_cleanly(
    tmp_path: Path, config: KioskConfig
) -> None:
    path = tmp_path / "kiosk.db"
    with ResponseStore(path, config) as store:
        AnswerRecorder(store).record(NewAnswer("satisfaction", 5, utc(2026, 11, 1, 9)))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sqlite3,sys,time; c=sqlite3.connect({str(path)!r}, isolation_level=None);"
            "c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            ResponseStore(path, config, busy_timeout_ms=100) as store,
            pytest.raises(StoreError, match="locked by another process"),
        ):
            AnswerRecorder(store).record(NewAnswer("satisfaction", 1, utc(2026, 11, 1, 10)))
    finally:
        holder.kill()
        holder.wait()
    with ResponseStore(path, config) as store:
        assert [r["value"] for r in store.answers()] == ["5"]


def test_not_a_database(tmp_path: Path, config: KioskConfig) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match="not a kiosk database"):
        ResponseStore(path, config)


def test_a_database_with_every_migration_opens_without_sqlite_utils(
    tmp_path: Path, config_file: Path
) -> None:
    from kiosk.migrations import migrations
    from kiosk.storage import SCHEMA

    # storage.py names the migrations so that a start need not import sqlite-utils to know none is pending.
    assert tuple(migration.name for migration in migrations._migrations) == SCHEMA
    db = tmp_path / "kiosk.db"
    script = textwrap.dedent(
        f"""
        import datetime as dt, sys
        from pathlib import Path
        from kiosk.config import load_config
        from kiosk.recording import AnswerRecorder
        from kiosk.storage import NewAnswer, ResponseStore
        store = ResponseStore(Path({str(db)!r}), load_config(Path({str(config_file)!r})))
        AnswerRecorder(store).record(NewAnswer("satisfaction", 2, dt.datetime.now(dt.UTC)))
        print("sqlite_utils" in sys.modules)
        """
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        for _ in "12"
    ]
    # The first start creates the schema through sqlite-utils; the next one has nothing to migrate.
    assert [run.stdout.strip() for run in runs] == ["True", "False"], [run.stderr for run in runs]
    assert sqlite3.connect(db).execute("SELECT count(*) FROM answers").fetchone()[0] == 2
