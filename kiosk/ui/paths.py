"""Where the app finds its .kv files and assets: next to this module, or inside a PyInstaller bundle.

Never the current directory, so `kiosk run` works from anywhere (systemd, autostart, a frozen build).
"""

from __future__ import annotations

import sys
from pathlib import Path


def ui_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "kiosk" / "ui"
    return Path(__file__).resolve().parent


def asset_dir() -> Path:
    return ui_dir() / "assets"
