"""The screen of a `text` question: the question, the field with its character counter, the on-screen
keyboard (kiosk.ui.keyboard: AZERTY in French, QWERTY in English, a layer of accents and digits) and the
"Skip" / "Send" buttons.

Imported, and its .kv loaded, only when a survey asks for a comment and the question is first shown: the
kiosk's start-up never pays for it. Every tap also reaches the root's touch handler first, so typing keeps
the visit alive (the inactivity timeout counts from the last key). Send with nothing typed is a skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.utils import escape_markup

from kiosk.domain.survey import clean_text
from kiosk.ui import theme
from kiosk.ui.keyboard import SEND, SKIP, SPACE, Key, TextEntry
from kiosk.ui.presenters import Target
from kiosk.ui.screens.question import QuestionScreen
from kiosk.ui.widgets import FlatButton


class TextScreen(QuestionScreen):
    typed = StringProperty("")  # the field's text as drawn (markup: the end of what was typed, a cursor)
    counter = StringProperty("")
    full = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self.entry = TextEntry()
        self._drawn: tuple[bool, bool, str] | None = None
        super().__init__(**kwargs)
        self.bind(lang=lambda *_: self.refresh())

    def show(self, title: str, targets: Sequence[Target], ends: tuple[str, str] = ("", "")) -> None:
        """A fresh field for each visit, the keys of the visit's language."""
        self.title = title
        self.entry.reset(self.lang)
        self.refresh()

    def populate(self) -> None:
        """Build the rows of keys (again after a resize, a layer switch, a capital)."""
        box = self.ids.keyboard
        box.clear_widgets()
        entry = self.entry
        self._drawn = (entry.accents, entry.shifted, entry.language)
        for row in entry.rows():
            line = BoxLayout(orientation="horizontal", spacing=self.u * 0.8)
            for key in row:
                line.add_widget(self.make_key(key))
            box.add_widget(line)

    def make_key(self, key: Key) -> FlatButton:
        pressed = (key.value == "shift" and self.entry.shifted) or (
            key.value == "layer" and self.entry.accents
        )
        colour = theme.NEUTRAL_SCALE if (key.action and key.value != SPACE) or pressed else theme.BUTTON
        button = FlatButton(
            text=self.t("space") if key.value == SPACE else key.label,
            value=key.value,
            size_hint_x=key.width,
            bg=theme.rgba(colour),
            fg=theme.rgba(theme.text_on(colour)),
            font_size=max(18, self.u * (4.0 if key.action else 5.4)),
            radius=self.u * 1.0,
        )
        button.bind(on_release=self.pick)
        return button

    def pick(self, button: Any) -> None:
        self.press(button.value)

    def press(self, value: str) -> None:
        """A key of the keyboard, or Skip / Send."""
        if value == SKIP:
            self.skip()
        elif value == SEND:
            text = clean_text(self.entry.text)
            if not text:
                self.skip()
            elif self.actions is not None:
                self.actions.answer(text)
        else:
            self.entry.press(value)
            self.refresh()

    def refresh(self) -> None:
        entry = self.entry
        if entry.language != self.lang and not entry.text:
            entry.reset(self.lang)
        if self._drawn != (entry.accents, entry.shifted, entry.language):
            self.populate()
        self.counter = entry.counter
        self.full = entry.full
        cursor = f"[color={theme.NEUTRAL_SCALE}]|[/color]"
        if entry.text:
            self.typed = escape_markup(self.visible_end(entry.text)) + cursor
        else:
            self.typed = cursor + f"[color={theme.MUTED_TEXT}]{escape_markup(self.t('Type here'))}[/color]"

    def visible_end(self, text: str) -> str:
        """The end of the text that fits the field's two lines: the shopper sees what they are typing."""
        field = self.ids.field
        per_line = max(10, int((field.width - self.u * 4) / (field.font_size * 0.62)))
        room = per_line * 2 - 2
        return text if len(text) <= room else "…" + text[-(room - 1) :]
