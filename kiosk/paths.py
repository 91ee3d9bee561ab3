"""Where things are: a kiosk's files (`$KIOSK_HOME`, else the per-user data directory, platformdirs), and the
app's own .kv files and assets (next to the code, or inside a PyInstaller bundle; never the current
directory, so that `kiosk run` works from anywhere: systemd, autostart, a frozen build)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "feedback-kiosk"


def default_data_dir() -> Path:
    home = os.environ.get("KIOSK_HOME")
    if home:
        return Path(home)
    import platformdirs  # only without $KIOSK_HOME (and not at import: it is on the start's path)

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


def ui_dir() -> Path:
    """The folder of the UI's .kv files (kiosk/ui)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "kiosk" / "ui"
    return Path(__file__).resolve().parent / "ui"


@functools.cache
def asset_dir() -> Path:
    """The top-level assets/ folder (faces, fonts, catalogs), installed as the package kiosk_assets."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "assets"
    spec = importlib.util.find_spec("kiosk_assets")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the kiosk's assets (package kiosk_assets) are not installed")
    return Path(spec.origin).resolve().parent
