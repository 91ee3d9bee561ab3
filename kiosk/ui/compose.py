"""The composition root's plain half: from an open `Kiosk` to everything the screens need (`UiDeps`).

No Kivy here. The sync state arrives as a callable (`SyncStatus`), "not configured" by default: the UI never
imports the sync code. CSV export runs on a worker thread with its own database connection, since a sqlite3
connection refuses use from another thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.bootstrap import Kiosk
from kiosk.domain.survey import KioskConfig
from kiosk.export import export_to_file
from kiosk.holding import HoldingRecorder
from kiosk.pin import Lockout, PinState, load_lockout, read_pin_state, save_lockout
from kiosk.storage import ResponseStore, StoreError
from kiosk.ui.i18n import Translator
from kiosk.ui.presenters import Recorder, StorageState, SyncStatus, storage_fine, sync_not_configured

log = logging.getLogger("kiosk.ui")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class UiDeps:
    config: KioskConfig
    record: Recorder
    scores: Callable[[dt.date, dt.date], Mapping[str, Any]]
    # Kept visits per UTC quarter-hour over store-local days (start, end): the dashboard's hourly pattern.
    visits_by_quarter: Callable[[dt.date, dt.date], list[tuple[dt.datetime, int]]]
    today: Callable[[dt.datetime], dt.date]
    # Read when the PIN pad opens, so that `kiosk set-pin` takes effect without a restart.
    pin_state: Callable[[], PinState]
    export_csv: Callable[[dt.datetime], Path]
    translator: Translator
    logo: Path | None = None
    sync_status: SyncStatus = sync_not_configured
    # The database's state for the manager (answers held in memory, damaged files kept aside); at once.
    storage_status: Callable[[], StorageState] = storage_fine
    # Called on every tick with monotonic seconds: writes answers held in memory when it is time to retry.
    retry_storage: Callable[[float], object] = lambda now: 0
    # Asked when the kiosk is idle on its start screen: fresh deps when a new configuration (pulled from
    # head office) has just been applied, else None. Must answer at once.
    new_config: Callable[[], UiDeps | None] = lambda: None
    # The lockout after wrong PINs, kept on disk across restarts (kiosk.pin).
    pin_lockout: Callable[[], Lockout] = Lockout
    save_pin_lockout: Callable[[int, float], object] = lambda failures, until: None
    # Told when a visit has ended (the start screen is back): the repeated-press rule judges it then.
    visit_ended: Callable[[dt.datetime], object] = lambda at: None
    wall: Callable[[], dt.datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic


def resolve(data_dir: Path, text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else data_dir / path


def storage_state(kiosk: Kiosk, holder: HoldingRecorder) -> StorageState:
    held = holder.state
    problem: str | None
    try:
        kept = tuple((k.file.name, k.reason, k.at) for k in kiosk.store.set_aside())
    except Exception as error:  # the database may be the problem: say so rather than fail the dashboard
        kept = ()
        problem = held.problem or f"cannot read the database: {error}"
    else:
        problem = held.problem
    return StorageState(held.held, held.refused, held.rejected, problem, kept)


def end_visits(kiosk: Kiosk) -> Callable[[dt.datetime], object]:
    def ended(at: dt.datetime) -> None:
        try:
            kiosk.store.end_visits(at)
        except StoreError as error:  # the next visit's first answer judges them instead
            log.warning("repeated presses not judged now: %s", error)

    return ended


def pin_state(data_dir: Path) -> PinState:
    """The manager PIN as the file says now; an unreadable file is logged, never raised."""
    state = read_pin_state(data_dir)
    if state.problem is not None:
        log.error("the manager PIN cannot be read: %s", state.problem)
    return state


def lockout_saver(data_dir: Path) -> Callable[[int, float], None]:
    def save(failures: int, until: float) -> None:
        try:
            save_lockout(data_dir, Lockout(failures, until))
        except OSError as error:  # a full or read-only disk: the lockout still holds in memory
            log.error("the PIN lockout cannot be saved: %s", error)

    return save


def build_deps(
    kiosk: Kiosk,
    sync_status: SyncStatus = sync_not_configured,
    new_config: Callable[[], UiDeps | None] = lambda: None,
    holder: HoldingRecorder | None = None,
) -> UiDeps:
    """`holder` is the tap path (pass the same one to every rebuild so that held answers survive a new
    configuration); by default a new one over the kiosk's store."""
    config = kiosk.config
    holding = holder or HoldingRecorder(kiosk.store)
    data_dir = kiosk.paths.root
    logo = resolve(data_dir, config.display.logo)
    export_dir = resolve(data_dir, config.display.export_dir) or data_dir / "exports"

    def export_csv(at: dt.datetime) -> Path:
        # Runs on a worker thread: its own connection to the database.
        export_dir.mkdir(parents=True, exist_ok=True)
        target = export_dir / f"kiosk-{config.store.id}-{config.device_id}-{at:%Y%m%d-%H%M%S}.csv"
        with ResponseStore(kiosk.paths.database, config) as store:
            export_to_file(store, target, "csv")
        return target

    return UiDeps(
        config=config,
        record=holding.record,
        scores=kiosk.scores,
        visits_by_quarter=lambda start, end: kiosk.store.visits_by_quarter_hour(
            start, end, kiosk.config.survey.questions[0].id
        ),
        today=kiosk.today,
        pin_state=lambda: pin_state(data_dir),
        pin_lockout=lambda: load_lockout(data_dir),
        save_pin_lockout=lockout_saver(data_dir),
        export_csv=export_csv,
        translator=Translator(config.survey.languages),
        logo=logo if logo is not None and logo.is_file() else None,
        sync_status=sync_status,
        storage_status=lambda: storage_state(kiosk, holding),
        retry_storage=holding.retry,
        new_config=new_config,
        visit_ended=end_visits(kiosk),
    )
