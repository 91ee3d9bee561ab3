"""Widgets shared by the screens: flat buttons with exact colours, the face button, the branded header,
the hidden manager corner and the charts (Kivy graphics, no matplotlib)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.properties import (
    AliasProperty,
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui import theme
from kiosk.ui.presenters import Bars, Trend


class FlatButton(ButtonBehavior, Label):
    """A button painted in exactly its colour: Kivy's default button tints a grey texture, which would
    change the colours whose contrast the theme checks."""

    bg = ColorProperty(theme.rgba(theme.BUTTON))
    fg = ColorProperty(theme.rgba(theme.TEXT))
    value = StringProperty("")
    radius = NumericProperty(12)


class FaceButton(ButtonBehavior, BoxLayout):
    value = StringProperty("")
    source = StringProperty("")
    caption = StringProperty("")
    font_size = NumericProperty(18)
    sideways = BooleanProperty(False)


class Header(BoxLayout):
    """The branded bar: logo, store name, and the language switch on the start screen."""

    store_name = StringProperty("")
    logo = StringProperty("")
    bg = ColorProperty(theme.rgba(theme.BACKGROUND))
    fg = ColorProperty(theme.rgba(theme.TEXT))
    languages = ListProperty([])  # [(code, name), ...]
    language = StringProperty("")
    show_languages = BooleanProperty(False)
    language_chosen = ObjectProperty(None, allownone=True)
    font_size = NumericProperty(18)
    stacked = BooleanProperty(False)
    # The height of one row of the bar (half of it when stacked): paddings and fonts follow it.
    bar = AliasProperty(lambda self: self.height / (2 if self.stacked else 1), bind=("height", "stacked"))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rebuild = Clock.create_trigger(self._build_switch, -1)
        self.bind(languages=self._rebuild, language=self._rebuild, show_languages=self._rebuild)
        self.bind(bg=self._rebuild, fg=self._rebuild, font_size=self._rebuild)
        self._rebuild()

    def _build_switch(self, *_: object) -> None:
        box = self.ids.get("switch")
        if box is None:
            return
        box.clear_widgets()
        if not self.show_languages:
            return
        for code, name in self.languages:
            chosen = code == self.language
            button = FlatButton(
                text=name,
                value=code,
                font_size=self.font_size,
                bg=self.fg if chosen else self.bg,
                fg=self.bg if chosen else self.fg,
                size_hint_x=None,
                width=max(theme.MIN_TARGET_PX * 2, self.font_size * 7),
            )
            button.bind(on_release=self._chosen)
            box.add_widget(button)

    def _chosen(self, button: FlatButton) -> None:
        if self.language_chosen is not None:
            self.language_chosen(button.value)


class QuestionTop(BoxLayout):
    """Header and question text of a question screen (the screen's rule binds every property)."""

    title = StringProperty("")
    header_height = NumericProperty(64)
    u = NumericProperty(4.8)
    landscape = BooleanProperty(True)
    store_name = StringProperty("")
    logo = StringProperty("")
    accent = ColorProperty(theme.rgba(theme.BACKGROUND))
    accent_fg = ColorProperty(theme.rgba(theme.TEXT))
    languages = ListProperty([])
    lang = StringProperty("")
    show_languages = BooleanProperty(False)
    language_chosen = ObjectProperty(None, allownone=True)


class CornerHold(Widget):
    """An invisible corner: holding it for `hold_seconds` calls `on_hold` (opens the manager PIN pad).

    A shopper's tap there does nothing, and a short tap never opens anything."""

    hold_seconds = NumericProperty(3.0)
    hold_action = ObjectProperty(None, allownone=True)
    enabled = BooleanProperty(True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending: Any = None

    def on_touch_down(self, touch: Any) -> bool:
        if not self.enabled or not self.collide_point(*touch.pos):
            return False
        touch.ud["corner"] = True
        self._cancel()
        self._pending = Clock.schedule_once(self._fire, self.hold_seconds)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.ud.get("corner"):
            self._cancel()
            return True
        return False

    def on_touch_move(self, touch: Any) -> bool:
        if touch.ud.get("corner") and not self.collide_point(*touch.pos):
            self._cancel()
        return bool(touch.ud.get("corner"))

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _fire(self, *_: object) -> None:
        self._pending = None
        if self.hold_action is not None:
            self.hold_action()


def _text(text: str, size: float, colour: str, bold: bool = False) -> Any:
    label = CoreLabel(text=text, font_size=size, color=theme.rgba(colour), bold=bold)
    label.refresh()
    return label.texture


class FitLabel(Label):
    """Text that wraps between words and shrinks (from `max_font` down to `min_font`) until it fits its box,
    so that a long store name is never cut, least of all inside a word."""

    max_font = NumericProperty(18)
    min_font = NumericProperty(10)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._refit = Clock.create_trigger(self.refit, -1)
        self.bind(size=self._refit, text=self._refit, max_font=self._refit, bold=self._refit)
        self._refit()

    def refit(self, *_: object) -> None:
        if self.width <= 1 or self.height <= 1:
            return
        self.text_size = (self.width, None)
        longest = max(self.text.split(), key=len, default="")
        size = float(self.max_font)
        while True:
            self.font_size = size
            self.texture_update()
            fits = (
                self.texture_size[1] <= self.height
                and _text(longest, size, theme.TEXT, self.bold).width <= self.width
            )
            if fits or size <= self.min_font:
                return
            size = max(float(self.min_font), size * 0.9)


class Chart(Widget):
    """A bar chart (`Bars`) or a line over days (`Trend`), drawn with Kivy graphics.

    Redrawn once per frame at most (a trigger), whatever changes together: size, position, data.
    """

    data = ObjectProperty(None, allownone=True)
    font_size = NumericProperty(14)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redraw = Clock.create_trigger(self.redraw, -1)
        self.bind(pos=self._redraw, size=self._redraw, data=self._redraw, font_size=self._redraw)

    def redraw(self, *_: object) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(*theme.rgba(theme.SURFACE))
            Rectangle(pos=self.pos, size=self.size)
        if self.data is None:
            return
        draw: Callable[[Any], None] = self._bars if isinstance(self.data, Bars) else self._trend
        draw(self.data)

    def _frame(self, title: str) -> tuple[float, float, float, float]:
        """Draw the title (smaller when the chart is narrow); return the plot area (x, y, width, height)
        below it, above the axis labels."""
        fs = self.font_size
        pad = fs * 0.6
        with self.canvas:
            tex = _text(title, fs, theme.TEXT, bold=True)
            room = self.width - 2 * pad
            if tex.width > room > 0:
                tex = _text(title, max(8.0, fs * room / tex.width * 0.97), theme.TEXT, bold=True)
            Color(1, 1, 1, 1)
            Rectangle(texture=tex, size=tex.size, pos=(self.x + pad, self.top - pad - tex.height))
        top = self.top - pad * 2 - fs * 1.2
        bottom = self.y + pad + fs * 1.3
        return self.x + pad, bottom, self.width - 2 * pad, max(1.0, top - bottom - fs * 1.2)

    def _bars(self, bars: Bars) -> None:
        x, y, width, height = self._frame(bars.title)
        count = max(1, len(bars.values))
        step = width / count
        peak = max([*bars.values, 1])
        fs = self.font_size
        # Label every n-th bar so that labels never run into each other on a narrow chart.
        widest = max((len(label) for label in bars.labels), default=1) * fs * 0.6 + fs * 0.4
        every = max(1, int(widest // step) + 1)
        with self.canvas:
            for i, (label, value, colour) in enumerate(
                zip(bars.labels, bars.values, bars.colours, strict=True)
            ):
                bar_h = height * value / peak
                left = x + i * step + step * 0.15
                Color(*theme.rgba(colour))
                Rectangle(pos=(left, y), size=(step * 0.7, bar_h))
                Color(1, 1, 1, 1)
                if i % every == 0:
                    tex = _text(label, fs * 0.9, theme.MUTED_TEXT)
                    Rectangle(
                        texture=tex, size=tex.size, pos=(x + i * step + (step - tex.width) / 2, y - fs * 1.25)
                    )
                if value:
                    tex = _text(str(value), fs * 0.9, theme.TEXT)
                    Rectangle(
                        texture=tex, size=tex.size, pos=(x + i * step + (step - tex.width) / 2, y + bar_h + 2)
                    )

    def _trend(self, trend: Trend) -> None:
        x, y, width, height = self._frame(trend.title)
        count = max(1, len(trend.values))
        step = width / count
        span = (trend.high - trend.low) or 1.0
        fs = self.font_size
        with self.canvas:
            Color(*theme.rgba(theme.BUTTON))
            Line(points=[x, y, x + width, y], width=1)
            Line(points=[x, y + height, x + width, y + height], width=1)
            Color(1, 1, 1, 1)
            for bound in (trend.low, trend.high):
                tex = _text(f"{bound:g}", fs * 0.8, theme.MUTED_TEXT)
                Rectangle(texture=tex, size=tex.size, pos=(x, y + height * (bound - trend.low) / span))
            segment: list[float] = []
            points: list[tuple[float, float]] = []
            # Label every n-th day so that labels never run into each other, always the last (today).
            every = max(1, int((fs * 0.8 * 1.6 + fs * 0.4) // step) + 1)
            for i, value in enumerate(trend.values):
                cx = x + i * step + step / 2
                if (count - 1 - i) % every == 0:
                    Color(1, 1, 1, 1)
                    tex = _text(trend.labels[i], fs * 0.8, theme.MUTED_TEXT)
                    Rectangle(texture=tex, size=tex.size, pos=(cx - tex.width / 2, y - fs * 1.25))
                if value is None:
                    self._line(segment)
                    segment = []
                    continue
                cy = y + height * (value - trend.low) / span
                segment += [cx, cy]
                points.append((cx, cy))
            self._line(segment)
            Color(*theme.rgba(theme.PROMOTER))
            radius = max(3.0, fs * 0.3)
            for cx, cy in points:
                Ellipse(pos=(cx - radius, cy - radius), size=(2 * radius, 2 * radius))

    def _line(self, segment: list[float]) -> None:
        if len(segment) >= 4:
            Color(*theme.rgba(theme.PROMOTER))
            Line(points=segment, width=2)
