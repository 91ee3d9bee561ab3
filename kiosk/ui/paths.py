"""Where the app finds its .kv files (next to this module) and assets (the top-level assets/ folder), or both
inside a PyInstaller bundle.

Never the current directory, so `kiosk run` works from anywhere (systemd, autostart, a frozen build).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def ui_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "kiosk" / "ui"
    return Path(__file__).resolve().parent


def asset_dir() -> Path:
    """The top-level assets/ folder (faces, fonts, catalogs), installed as the package kiosk_assets."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "assets"
    spec = importlib.util.find_spec("kiosk_assets")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the kiosk's assets (package kiosk_assets) are not installed")
    return Path(spec.origin).resolve().parent
