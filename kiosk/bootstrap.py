"""The composition root: from a data directory to a checked configuration and an open response store."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.domain.days import local_day
from kiosk.domain.scoring import daily_scores
from kiosk.domain.survey import KioskConfig
from kiosk.paths import KioskPaths
from kiosk.storage import ResponseStore, open_store


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

    def today(self, now: dt.datetime) -> dt.date:
        return local_day(now, self.config.store.tz)

    def scores(self, start: dt.date, end: dt.date) -> dict[str, Any]:
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
