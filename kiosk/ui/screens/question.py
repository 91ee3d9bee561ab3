"""The screen of one question: smiley faces, a 0-10 (or 1-7) scale, or reason chips.

The root builds one screen per question of the survey and calls `show` with what to draw in the
shopper's language; a tap calls `actions.answer(value)` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.clock import Clock
from kivy.properties import ListProperty, StringProperty

from kiosk.paths import asset_dir
from kiosk.ui import theme
from kiosk.ui.presenters import Target
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import FaceButton, FlatButton


class QuestionScreen(KioskScreen):
    title = StringProperty("")
    low_caption = StringProperty("")
    high_caption = StringProperty("")
    targets = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A resize changes `u` and often `landscape` too: one rebuild on the next frame for both.
        self._repopulate = Clock.create_trigger(lambda _dt: self.populate(), -1)
        self.bind(u=self._repopulate, landscape=self._repopulate)

    def show(self, title: str, targets: Sequence[Target], ends: tuple[str, str] = ("", "")) -> None:
        self.title = title
        self.low_caption, self.high_caption = ends
        # Every step of every visit calls this: the buttons are rebuilt only when they change (language).
        if list(targets) != self.targets:
            self.targets = list(targets)
            self.populate()

    def populate(self) -> None:
        box = self.ids.targets
        box.clear_widgets()
        for target in self.targets:
            button = self.make_button(target)
            button.bind(on_release=self.pick)
            box.add_widget(button)

    def make_button(self, target: Target) -> Any:
        raise NotImplementedError

    def pick(self, button: Any) -> None:
        if self.actions is not None:
            self.actions.answer(button.value)

    def skip(self) -> None:
        if self.actions is not None:
            self.actions.skip()

    def switch_language(self, language: str) -> None:
        if self.actions is not None:
            self.actions.set_language(language)


class FacesScreen(QuestionScreen):
    """smiley5 and smiley4: big drawn faces with a caption each."""

    def make_button(self, target: Target) -> Any:
        return FaceButton(
            value=target.value,
            source=str(asset_dir() / "faces" / f"face{target.image}.png"),
            caption=target.caption,
            font_size=max(14, self.u * 3.6),
            sideways=not self.landscape,
        )


class ScaleScreen(QuestionScreen):
    """0-10 (NPS, coloured by detractor / passive / promoter zone) and 1-7 (CES)."""

    def make_button(self, target: Target) -> Any:
        return FlatButton(
            text=target.caption,
            value=target.value,
            bg=theme.rgba(target.background),
            fg=theme.rgba(target.foreground),
            bold=True,
            font_size=max(18, self.u * 6),
            radius=self.u * 1.5,
        )

    def columns(self, landscape: bool, count: int) -> int:
        # Portrait: two rows, so that 11 buttons stay wider than 9 mm on a 480 px wide panel.
        return max(1, count if landscape else (count + 1) // 2)


class ChoiceScreen(QuestionScreen):
    """The reasons after a low score: one chip each, and "skip"."""

    def make_button(self, target: Target) -> Any:
        return FlatButton(
            text=target.caption,
            value=target.value,
            bg=theme.rgba(target.background),
            fg=theme.rgba(target.foreground),
            font_size=max(16, self.u * 4.2),
            radius=self.u * 1.5,
        )
