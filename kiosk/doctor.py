"""`kiosk doctor`: the checks of a kiosk (configuration, database, kept-aside files, disk, clock), as data.

The command line prints them; the checks themselves read the files and take the time as an argument.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kiosk import RELEASE_DATE
from kiosk.config import ConfigError, load_config
from kiosk.paths import KioskPaths
from kiosk.storage import StoreError, inspect_database, read_only_dir, read_set_aside_notes, set_aside_files


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    what: str


def run_checks(data_dir: Path, min_free_mb: int, now: dt.datetime) -> list[Check]:
    """Every check of the kiosk in `data_dir`, in the order a technician reads them."""
    paths = KioskPaths(data_dir)
    found: list[Check] = []

    def report(ok: bool, what: str) -> None:
        found.append(Check(ok, what))

    try:
        config = load_config(paths.config)
        report(
            True,
            f"configuration {paths.config}: store {config.store.id}, device {config.device_id}, "
            f"{len(config.survey.questions)} questions, {config.store.timezone}",
        )
    except ConfigError as error:
        for problem in error.problems:
            report(False, f"configuration: {problem}")
    latest = None
    if not paths.database.exists():
        report(False, f"database {paths.database}: missing (run `kiosk init`)")
    else:
        try:
            db = sqlite3.connect(f"file:{paths.database}?mode=ro", uri=True, timeout=5)
            try:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
                count = db.execute("SELECT count(*) FROM answers").fetchone()[0]
                latest = db.execute("SELECT max(created_at) FROM answers").fetchone()[0]
            finally:
                db.close()
            report(check == "ok", f"database {paths.database}: integrity {check}, {count} answers")
        except sqlite3.Error as error:
            report(False, f"database {paths.database}: {error}")
        try:
            schema = inspect_database(paths.database, thorough=False, busy_timeout_ms=5000)
        except StoreError:
            schema = None  # locked or unreadable: said above
        if schema is not None:
            report(
                False, f"database {paths.database}: {schema}; `kiosk run` will keep it aside and start afresh"
            )
    # Kept-aside files hold answers that are not in the current database (nor sent to head office from it).
    notes = read_set_aside_notes(paths.database) if paths.database.exists() else {}
    for kept in set_aside_files(paths.database):
        note = notes.get(kept.name)
        why = f"set aside {note.at:%Y-%m-%d %H:%M} UTC: {note.reason}" if note else "set aside"
        report(
            False,
            f"damaged database kept as {kept} ({kept.stat().st_size} bytes; {why}); a fresh database "
            "replaced it: its answers are not in the current one. Move it out of the data directory once "
            "dealt with",
        )
    if data_dir.is_dir():
        writable = not read_only_dir(data_dir)
        report(
            writable,
            f"data directory {data_dir}: " + ("writable" if writable else "READ-ONLY, taps cannot be stored"),
        )
    try:
        free_mb = shutil.disk_usage(data_dir).free // 1_000_000
        report(free_mb >= min_free_mb, f"free disk: {free_mb} MB (at least {min_free_mb} MB wanted)")
    except OSError as error:
        report(False, f"free disk: cannot tell ({error.strerror})")
    clock_ok = now.date() >= RELEASE_DATE
    report(
        clock_ok,
        f"clock: {now:%Y-%m-%d %H:%M} UTC"
        + (
            ""
            if clock_ok
            else f" is before this release ({RELEASE_DATE}): the device clock is wrong, set the time (NTP)"
        ),
    )
    if latest is not None:
        last = dt.datetime.fromisoformat(latest)
        ahead = last - now
        report(
            ahead <= dt.timedelta(minutes=5),
            f"latest answer at {last:%Y-%m-%d %H:%M} UTC"
            + ("" if ahead <= dt.timedelta(minutes=5) else ", later than the clock: the clock went back"),
        )
    return found
