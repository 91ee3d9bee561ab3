"""The composition root of `kiosk run`, its half without Kivy: the sync jobs, what the manager screen shows
of them, and a configuration pulled from head office applied at an idle moment.

The UI and the sync code never import each other; they meet here. Kivy is not imported by this module.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.bootstrap import Kiosk
from kiosk.config import ConfigError
from kiosk.domain.survey import KioskConfig
from kiosk.holding import HoldingRecorder

if TYPE_CHECKING:
    from kiosk.ui.compose import UiDeps
    from kiosk.ui.presenters import SyncState
    from sync.jobs import SyncService

log = logging.getLogger("kiosk")


def start_sync(kiosk: Kiosk) -> SyncService:
    """The sync jobs in the background (upload, heartbeat, config pull, scores, retention). They also run
    unpaired, doing nothing until `kiosk pair`, so pairing needs no restart."""
    from sync.jobs import start_scheduler

    return start_scheduler(kiosk.paths.root, kiosk.config)


def sync_state(kiosk: Kiosk) -> SyncState:
    """What the manager screen shows of the sync, read from the database (no network)."""
    from kiosk.ui.presenters import SyncState
    from sync.outbox import read_status
    from sync.pairing import pairing_path

    if not pairing_path(kiosk.paths.root).exists():
        return SyncState(configured=False)
    status = read_status(kiosk.paths.database)
    success = status.last_success_at
    return SyncState(
        configured=True,
        pending=status.pending,
        last_success=None if success is None else dt.datetime.fromisoformat(success),
        last_error=status.auth_problem or status.config_error or status.last_error,
        quarantined=status.quarantined,
        quarantine_reasons=status.quarantine_reasons,
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
    and new configurations from head office. Raises PinError for an unreadable PIN file."""
    from kiosk.pin import load_pin
    from kiosk.ui.compose import build_deps

    load_pin(kiosk.paths.root)  # an unreadable PIN file stops the start with its one-line reason
    # One holder for the whole run: answers held while the disk is full survive a new configuration.
    holder = HoldingRecorder(kiosk.store)
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
