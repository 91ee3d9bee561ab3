"""The manager PIN pad. Digits are shown as dots; the PinPad presenter decides, this screen only forwards
keys to `actions` and shows the dots and the message it is given."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.screens.base import KioskScreen


class PinScreen(KioskScreen):
    message = StringProperty("")
    digits = NumericProperty(0)

    def key(self, key: str) -> None:
        if self.actions is not None:
            self.actions.pin_key(key)

    def back(self) -> None:
        if self.actions is not None:
            self.actions.leave_manager()
