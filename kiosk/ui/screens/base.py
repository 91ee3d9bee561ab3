"""What every kiosk screen has: the shopper's language, a translator, the branding, the size unit that
scales the layout from a 7" 800x480 panel to a 1920x1080 one, and the `actions` object (the root) that
handles taps."""

from __future__ import annotations

from typing import Any

from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme


def _identity(language: str, message: str) -> str:
    return message


class KioskScreen(Screen):
    lang = StringProperty("en")
    tr = ObjectProperty(_identity)
    actions = ObjectProperty(None, allownone=True)
    # 1% of the shorter side: fonts and paddings scale with the panel, whatever its orientation.
    u = NumericProperty(4.8)
    landscape = BooleanProperty(True)
    store_name = StringProperty("")
    logo = StringProperty("")
    accent = ColorProperty(theme.rgba(theme.BACKGROUND))
    accent_fg = ColorProperty(theme.rgba(theme.TEXT))
    languages = ListProperty([])
    show_languages = BooleanProperty(False)

    def on_size(self, _: Any, size: tuple[float, float]) -> None:
        width, height = size
        self.u = max(1.0, min(width, height) / 100)
        self.landscape = width >= height

    def t(self, message: str, _language: str | None = None) -> str:
        """Translated text; KV passes `root.lang` so that the label re-translates when it changes."""
        return str(self.tr(self.lang, message))
