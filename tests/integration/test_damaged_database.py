"""A damaged, foreign or newer database at start: `kiosk run` keeps it aside and starts afresh; the command
line leaves it as it is and says why; `kiosk doctor` names the kept file. Nothing is ever deleted."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.bootstrap import open_kiosk
from kiosk.storage import DamagedDatabase, NewAnswer, StoreError, set_aside_files
from tests.conftest import Invoke


def fill(data_dir: Path, answers: int = 300) -> None:
    """Answers in the database, folded from the WAL into the file (as after a clean stop)."""
    kiosk = open_kiosk(data_dir)
    start = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    for i in range(answers):
        kiosk.recorder.record(NewAnswer("satisfaction", 1 + i % 5, start + dt.timedelta(minutes=i)))
    kiosk.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kiosk.close()


def truncate(db: Path) -> None:
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def truncate_to_a_few_bytes(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:60])


def garbage(db: Path) -> None:
    db.write_bytes(random.Random(1).randbytes(40_000))


def scrambled_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    rnd = random.Random(7)
    for page in range(2, len(data) // 4096):
        for _ in range(64):
            data[page * 4096 + rnd.randrange(100, 4096)] = rnd.randrange(256)
    db.write_bytes(bytes(data))


def sql(*statements: str) -> Callable[[Path], None]:
    def damage(db: Path) -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        for statement in statements:
            conn.execute(statement)
        conn.close()

    return damage


def foreign(db: Path) -> None:
    db.unlink()
    sql("CREATE TABLE people (name TEXT)", "INSERT INTO people VALUES ('x')")(db)


DAMAGE = {
    "truncated": (truncate, "truncated"),
    "truncated to 60 bytes": (truncate_to_a_few_bytes, "truncated"),
    "garbage": (garbage, "not a SQLite database"),
    "scrambled pages": (scrambled_pages, "damaged"),
    "newer migration": (
        sql(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('kiosk', 'm002_loyalty_cards', '2027-01-01')"
        ),
        "newer release",
    ),
    "newer user_version": (sql("PRAGMA user_version = 3"), "schema version 3"),
    "wrong schema": (
        sql("DROP INDEX answers_unsynced", "ALTER TABLE answers DROP COLUMN synced_at"),
        "wrong schema",
    ),
    "another application's database": (foreign, "not a kiosk database"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_the_app_keeps_a_damaged_database_aside_and_takes_taps_again(
    kind: str, kiosk_cli: Invoke, data_dir: Path
) -> None:
    damage, reason = DAMAGE[kind]
    db = data_dir / "kiosk.db"
    fill(data_dir)
    damage(db)
    before = digest(db)

    kiosk = open_kiosk(data_dir, recover=True)
    try:
        kept = kiosk.store.set_aside()
        assert len(kept) == 1 and reason in kept[0].reason
        assert kept[0].file.name.startswith("kiosk.db.damaged-") and digest(kept[0].file) == before
        kiosk.recorder.record(NewAnswer("satisfaction", 5, dt.datetime.now(dt.UTC)))
        assert kiosk.store.answer_count() == 1
    finally:
        kiosk.close()

    doctor = kiosk_cli("doctor")
    assert doctor.exit_code == 1
    assert f"damaged database kept as {kept[0].file}" in doctor.stdout and reason in doctor.stdout
    # A second start finds a healthy database: nothing more is set aside, the answer is still there.
    again = open_kiosk(data_dir, recover=True)
    assert again.store.answer_count() == 1 and len(again.store.set_aside()) == 1
    again.close()


@pytest.mark.parametrize("kind", [k for k in DAMAGE if k != "scrambled pages"])
def test_the_command_line_leaves_a_damaged_database_as_it_is_and_says_why(
    kind: str, kiosk_cli: Invoke, data_dir: Path
) -> None:
    damage, reason = DAMAGE[kind]
    db = data_dir / "kiosk.db"
    fill(data_dir, answers=20)
    damage(db)
    before = digest(db)
    result = kiosk_cli("scores")
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert reason in line and "kiosk run" in line
    with pytest.raises(DamagedDatabase):
        open_kiosk(data_dir)
    assert digest(db) == before and not list(data_dir.glob("kiosk.db.damaged-*"))
    doctor = kiosk_cli("doctor")
    assert doctor.exit_code == 1 and "FAIL  database" in doctor.stdout


def test_the_wal_and_shm_go_aside_with_the_file(kiosk_cli: Invoke, data_dir: Path) -> None:
    db = data_dir / "kiosk.db"
    fill(data_dir, answers=5)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('kiosk', 'm009_future', '2027-01-01')"
    )
    # Still open: its -wal and -shm exist while the app starts.
    wal = db.with_name("kiosk.db-wal").read_bytes()
    kiosk = open_kiosk(data_dir, recover=True)
    (kept,) = kiosk.store.set_aside()
    kiosk.close()
    holder.close()
    assert kept.file.with_name(kept.file.name + "-wal").exists()
    assert wal and kept.file.with_name(kept.file.name + "-shm").exists()
    # The kept file still opens with its WAL: the newer release's answers are all there.
    assert sqlite3.connect(kept.file).execute("SELECT count(*) FROM answers").fetchone()[0] == 5


def test_a_locked_database_is_not_taken_for_a_damaged_one(kiosk_cli: Invoke, data_dir: Path) -> None:
    fill(data_dir, answers=5)
    holder = sqlite3.connect(data_dir / "kiosk.db", isolation_level=None)
    # In WAL mode only an exclusive locking mode shuts readers out.
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            open_kiosk(data_dir, recover=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(data_dir.glob("kiosk.db.damaged-*"))


def test_a_missing_database_is_simply_created(kiosk_cli: Invoke, data_dir: Path) -> None:
    (data_dir / "kiosk.db").unlink()
    kiosk = open_kiosk(data_dir, recover=True)
    assert kiosk.store.answer_count() == 0 and kiosk.store.set_aside() == []
    kiosk.close()


def test_a_first_start_cut_short_is_not_taken_for_damage(kiosk_cli: Invoke, data_dir: Path) -> None:
    db = data_dir / "kiosk.db"
    db.unlink()
    # What a kill between sqlite-utils' bookkeeping table and the first migration leaves.
    sql(
        "CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT)"
    )(db)
    kiosk = open_kiosk(data_dir, recover=True)
    assert kiosk.store.set_aside() == [] and kiosk.store.answer_count() == 0
    kiosk.close()
    assert not list(data_dir.glob("kiosk.db.damaged-*"))


def test_a_kept_file_whose_note_was_never_written_is_still_shown(kiosk_cli: Invoke, data_dir: Path) -> None:
    # A start killed between the rename and the note: the file alone tells the manager.
    (data_dir / "kiosk.db.damaged-20261124T081500Z").write_bytes(b"garbage")
    kiosk = open_kiosk(data_dir, recover=True)
    (kept,) = kiosk.store.set_aside()
    kiosk.close()
    assert kept.file.name == "kiosk.db.damaged-20261124T081500Z" and kept.reason == "reason not recorded"


def test_killed_while_keeping_a_damaged_file_aside_nothing_is_lost_and_the_next_start_finishes(
    kiosk_cli: Invoke, data_dir: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    db = data_dir / "kiosk.db"
    # The child says when its imports are done, so the kill lands in the checks, the renames or the fresh
    # database whatever the machine's load (Python's own start-up varies from 0.1 s to seconds).
    start = (
        "from kiosk.bootstrap import open_kiosk; print('ready', flush=True); "
        f"open_kiosk(__import__('pathlib').Path({str(data_dir)!r}), recover=True)"
    )
    rnd = random.Random(5)
    damaged: list[bytes] = []
    attempt = 0
    # At least 12 kills, and on until four damaged files were kept aside (a bound keeps a real bug failing).
    while attempt < 12 or (len(damaged) < 5 and attempt < 80):
        attempt += 1
        if not db.exists() or not damaged or db.read_bytes() != damaged[-1]:
            # The previous damage was kept aside: the fresh database (empty) gets damaged in turn.
            content = f"shopping list {attempt} ".encode() * 500
            damaged.append(content)
            db.unlink(missing_ok=True)
            for companion in ("kiosk.db-wal", "kiosk.db-shm"):
                (data_dir / companion).unlink(missing_ok=True)
            db.write_bytes(content)
        child = subprocess.Popen([sys.executable, "-c", start], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rnd.uniform(0.0, 0.01))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    kiosk = open_kiosk(data_dir, recover=True)
    kiosk.recorder.record(NewAnswer("satisfaction", 5, dt.datetime.now(dt.UTC)))
    kiosk.close()
    # Every damaged content is still on disk, whole, kept aside once, and the database is a fresh one.
    kept = [path.read_bytes() for path in set_aside_files(db)]
    assert sorted(kept) == sorted(damaged) and len(damaged) > 3
    assert kiosk_cli("scores", "--json").exit_code == 0


def test_scrambled_pages_found_by_a_command_are_a_one_line_error(kiosk_cli: Invoke, data_dir: Path) -> None:
    fill(data_dir)
    scrambled_pages(data_dir / "kiosk.db")
    lines = []
    for command in (("export",), ("record", "satisfaction", "4"), ("status",)):
        result = kiosk_cli(*command)
        assert result.exit_code == 1 and "Traceback" not in result.output, command
        (line,) = result.stderr.strip().splitlines()
        assert "kiosk.db: " in line
        lines.append(line)
    # What SQLite says depends on the page it read first (a data page: "database disk image is malformed";
    # the schema page: "malformed database schema"); either way it is named as damage.
    assert any("damaged (" in line and "malformed" in line and "kiosk doctor" in line for line in lines)
