"""The composition root, the one start-up path of the kiosk: from a data directory to a checked configuration
and an open response store (`open_kiosk`, for every command), and for `kiosk run` and `kiosk selftest` to
everything the screens need (`compose_app`: the tap path, the manager's figures and states, the sync jobs
started after the first frame, configurations from head office applied at an idle moment).

Kivy is not imported here; the UI (kiosk.ui.app) and the sync code never import each other, they meet here.
Only this module and the other edges read the clock (`utc_now`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config import ConfigError, load_config
from kiosk.domain.days import local_day
from kiosk.domain.survey import KioskConfig
from kiosk.paths import KioskPaths
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer, ResponseStore, StoreError, open_store

if TYPE_CHECKING:
    from kiosk.holding import HoldingRecorder
    from kiosk.pin import PinState
    from kiosk.ui.presenters import Given, Recorder, StorageState, SyncState, SyncStatus, UiDeps
    from sync.jobs import SyncService

log = logging.getLogger("kiosk")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def busy_timeout_ms() -> int:
    """How long a write waits for another process holding the database (KIOSK_BUSY_TIMEOUT_MS, default 5 s)."""
    try:
        return max(0, int(os.environ.get("KIOSK_BUSY_TIMEOUT_MS", "5000")))
    except ValueError:
        return 5000


@dataclass(slots=True)
class Kiosk:
    paths: KioskPaths
    config: KioskConfig
    store: ResponseStore
    # Records answers into `store`: the tap path, `kiosk record` and `kiosk import`.
    recorder: AnswerRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = AnswerRecorder(self.store)

    def today(self, now: dt.datetime) -> dt.date:
        return local_day(now, self.config.store.tz)

    def scores(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        from kiosk.domain.scoring import daily_scores  # not on the way to the first frame

        rows = self.store.count_rows(start, end)
        return daily_scores(self.config.store, self.config.survey, rows, start, end)

    def close(self) -> None:
        self.store.close()


def open_kiosk(data_dir: Path, *, recover: bool = False) -> Kiosk:
    """Load the kiosk of a data directory; ConfigError or StoreError say what is wrong in one line each.

    `recover` is for the unattended app (`kiosk run`): a damaged database is kept aside and a fresh one
    started, so that taps are stored again at once. Without it (a technician at the command line) a damaged
    database is left as it is and DamagedDatabase says what is wrong.
    """
    paths = KioskPaths(data_dir)
    config = load_config(paths.config)
    store = open_store(paths.database, config, busy_timeout_ms=busy_timeout_ms(), recover=recover)
    return Kiosk(paths=paths, config=config, store=store)


# -- `kiosk run`: the app's parts --------------------------------------------------------------------------


def resolve(data_dir: Path, text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else data_dir / path


def storage_state(kiosk: Kiosk, holder: HoldingRecorder) -> StorageState:
    from kiosk.ui.presenters import StorageState

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
            kiosk.recorder.end_visits(at)
        except StoreError as error:  # the next visit's first answer judges them instead
            log.warning("repeated presses not judged now: %s", error)

    return ended


def pin_state(data_dir: Path) -> PinState:
    """The manager PIN as the file says now; an unreadable file is logged, never raised."""
    from kiosk.pin import read_pin_state

    state = read_pin_state(data_dir)
    if state.problem is not None:
        log.error("the manager PIN cannot be read: %s", state.problem)
    return state


def lockout_saver(data_dir: Path) -> Callable[[int, float], None]:
    from kiosk.pin import Lockout, save_lockout

    def save(failures: int, until: float) -> None:
        try:
            save_lockout(data_dir, Lockout(failures, until))
        except OSError as error:  # a full or read-only disk: the lockout still holds in memory
            log.error("the PIN lockout cannot be saved: %s", error)

    return save


def followup_links(data_dir: Path) -> Callable[[str, str], str | None]:
    """The thank-you screen's follow-up URLs (sync.followup): read from followup.json at each low score, so a
    key fetched or a pairing changed since start counts at once; None (no QR code) when there is no usable
    key, and when anything fails (logged): the shopper is still thanked."""

    def link(session_id: str, language: str) -> str | None:
        try:
            from sync.followup import followup_url, load_followup_link

            found = load_followup_link(data_dir)
            return None if found is None else followup_url(found, session_id, language, utc_now())
        except Exception:
            log.exception("no follow-up link for this visit")
            return None

    return link


def as_recorder(record: Callable[[NewAnswer], object]) -> Recorder:
    """The screens' tap path (an answer given on screen) onto the store's (a new answer to store)."""

    def given(answer: Given) -> object:
        return record(
            NewAnswer(
                question_id=answer.question_id,
                value=answer.value,
                created_at=answer.created_at,
                session_id=answer.session_id,
                language=answer.language,
            )
        )

    return given


def build_deps(
    kiosk: Kiosk,
    sync_status: SyncStatus | None = None,
    new_config: Callable[[], UiDeps | None] = lambda: None,
    holder: HoldingRecorder | None = None,
) -> UiDeps:
    """Everything the screens need. `holder` is the tap path (pass the same one to every rebuild so that
    held answers survive a new configuration); by default a new one over the kiosk's store. The sync state
    arrives as a callable, "not configured" by default: the UI never imports the sync code. CSV export runs
    on a worker thread with its own database connection (a sqlite3 connection refuses other threads)."""
    from kiosk.holding import HoldingRecorder
    from kiosk.pin import load_lockout
    from kiosk.ui.i18n import Translator
    from kiosk.ui.presenters import UiDeps, sync_not_configured

    config = kiosk.config
    holding = holder or HoldingRecorder(kiosk.recorder)
    data_dir = kiosk.paths.root
    logo = resolve(data_dir, config.display.logo)
    export_dir = resolve(data_dir, config.display.export_dir) or data_dir / "exports"

    def export_csv(at: dt.datetime) -> Path:
        # Runs on a worker thread: its own connection to the database.
        from kiosk.export import export_to_file

        export_dir.mkdir(parents=True, exist_ok=True)
        target = export_dir / f"kiosk-{config.store.id}-{config.device_id}-{at:%Y%m%d-%H%M%S}.csv"
        with ResponseStore(kiosk.paths.database, config) as store:
            export_to_file(store, target, "csv")
        return target

    return UiDeps(
        config=config,
        record=as_recorder(holding.record),
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
        sync_status=sync_status or sync_not_configured,
        storage_status=lambda: storage_state(kiosk, holding),
        retry_storage=holding.retry,
        new_config=new_config,
        visit_ended=end_visits(kiosk),
        followup_links=followup_links(data_dir),
        wall=utc_now,
        monotonic=time.monotonic,
    )


def start_sync(kiosk: Kiosk) -> SyncService:
    """The sync jobs in the background (upload, heartbeat, config pull, scores, retention). They also run
    unpaired, doing nothing until `kiosk pair`, so pairing needs no restart."""
    from sync.jobs import start_scheduler

    return start_scheduler(kiosk.paths.root, kiosk.config)


def sync_state(kiosk: Kiosk) -> SyncState:
    """What the manager screen shows of the sync, read from the database (no network)."""
    from kiosk.ui.presenters import Alert, SyncState
    from sync.alerts import read_open_alerts
    from sync.outbox import read_status
    from sync.pairing import pairing_path

    if not pairing_path(kiosk.paths.root).exists():
        return SyncState(configured=False)
    status = read_status(kiosk.paths.database)
    success = status.last_success_at
    alerts = tuple(
        Alert(a["id"], a["rule"], dt.datetime.fromisoformat(a["opened_at"]), a["summary"])
        for a in read_open_alerts(kiosk.paths.database)
    )
    return SyncState(
        configured=True,
        pending=status.pending,
        last_success=None if success is None else dt.datetime.fromisoformat(success),
        last_error=status.auth_problem or status.config_error or status.last_error,
        quarantined=status.quarantined,
        quarantine_reasons=status.quarantine_reasons,
        alerts=alerts,
    )


def apply_pending_config(data_dir: Path) -> KioskConfig | None:
    """A configuration pulled from head office (checked when it came) replaces kiosk.toml; None if none.

    One that no longer passes the checker is set aside as kiosk.toml.pending.rejected and logged."""
    from sync.remote_config import apply_pending_config as apply

    try:
        return apply(data_dir)
    except ConfigError as error:
        log.error("the configuration from head office was refused: %s", error.problems[0])
        return None


def config_refresher(
    kiosk: Kiosk, rebuild: Callable[[], UiDeps], on_config: Callable[[KioskConfig], None]
) -> Callable[[], UiDeps | None]:
    """The UI's `new_config` hook: applies a pending configuration, tells the store and the sync jobs,
    and returns the screens' fresh dependencies (None while there is nothing new)."""

    def refresh() -> UiDeps | None:
        config = apply_pending_config(kiosk.paths.root)
        if config is None:
            return None
        kiosk.config = kiosk.store.config = config
        on_config(config)
        return rebuild()

    return refresh


@dataclass
class AppParts:
    """What `kiosk run` (and `kiosk selftest`) hand to the Kivy app, and how to wind it all down."""

    kiosk: Kiosk
    holder: HoldingRecorder
    deps: UiDeps
    services: list[SyncService] = field(default_factory=list)

    def start_sync(self) -> None:
        """Start the sync jobs in the background: their imports take a few hundred ms on a Pi, which
        must neither delay the first screen nor freeze it (the app calls this from its UI thread)."""
        threading.Thread(target=lambda: self.services.append(start_sync(self.kiosk)), daemon=True).start()

    def stop(self) -> bool:
        """Stop the sync jobs and write what is held in memory; False if answers are still only held."""
        for service in self.services:
            service.shutdown(wait=False)
        return self.holder.flush()


def compose_app(kiosk: Kiosk) -> AppParts:
    """The one composition of the app: screens, tap path (held in memory while the disk refuses), sync state
    and new configurations from head office. A missing or unreadable PIN file never stops it: the PIN pad
    says to set the PIN again."""
    from kiosk.holding import HoldingRecorder

    # One holder for the whole run: answers held while the disk is full survive a new configuration.
    holder = HoldingRecorder(kiosk.recorder)
    services: list[SyncService] = []

    def use_config(config: KioskConfig) -> None:
        for service in services:
            service.jobs.use_config(config)

    def state() -> SyncState:
        return sync_state(kiosk)

    def rebuild() -> UiDeps:
        return build_deps(kiosk, state, new_config, holder)

    new_config = config_refresher(kiosk, rebuild, use_config)
    return AppParts(kiosk=kiosk, holder=holder, deps=rebuild(), services=services)
