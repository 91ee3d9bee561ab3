"""The thank-you screen. It has nothing to tap: taps while it shows are ignored, and the root returns to
the start after the configured number of seconds."""

from __future__ import annotations

from kiosk.paths import asset_dir
from kiosk.ui.screens.base import KioskScreen


class ThanksScreen(KioskScreen):
    def face_source(self) -> str:
        return str(asset_dir() / "faces" / "face5.png")
