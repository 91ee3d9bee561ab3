"""Where a kiosk keeps its files: `$KIOSK_HOME`, else the per-user data directory (platformdirs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "feedback-kiosk"


def default_data_dir() -> Path:
    home = os.environ.get("KIOSK_HOME")
    if home:
        return Path(home)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True, slots=True)
class KioskPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "kiosk.toml"

    @property
    def database(self) -> Path:
        return self.root / "kiosk.db"
