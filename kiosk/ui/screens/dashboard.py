"""The manager dashboard: the period's figures (today, 7 or 30 days) against the store's targets, the
distribution, the hourly pattern, the CSAT and NPS trends, the top reasons, head office's open alerts and the
sync state, all from a `DashboardView` made by the presenter."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui import theme
from kiosk.ui.presenters import DashboardView
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import FlatButton


class DashboardScreen(KioskScreen):
    view = ObjectProperty(None, allownone=True)
    title = StringProperty("")
    reasons_text = StringProperty("")
    sync_text = StringProperty("")
    status = StringProperty("")

    def on_view(self, _: Any, view: DashboardView | None) -> None:
        self.populate()

    def on_size(self, widget: Any, size: tuple[float, float]) -> None:
        super().on_size(widget, size)
        self.populate()

    def populate(self) -> None:
        view = self.view
        tiles = self.ids.tiles
        tiles.clear_widgets()
        periods = self.ids.periods
        periods.clear_widgets()
        if view is None:
            return
        self.title = view.title
        for period in view.periods:
            button = FlatButton(
                text=period.label,
                font_size=max(14, self.u * 3.2),
                bg=theme.rgba(theme.NEUTRAL_SCALE if period.chosen else theme.BUTTON),
                fg=theme.rgba(theme.WHITE if period.chosen else theme.TEXT),
            )
            button.bind(on_release=lambda _b, days=period.days: self.choose(days))
            periods.add_widget(button)
        # Portrait: tiles on two rows of three, so that a target and its gap fit beside the figure.
        tiles.cols = max(1, len(view.tiles)) if self.landscape else 3
        figure_size = max(18, min(self.u * 7, self.width / tiles.cols / 3.8))
        for tile in view.tiles:
            box = BoxLayout(orientation="vertical", padding=self.u * 0.6)
            box.add_widget(
                Label(
                    text=tile.value,
                    bold=True,
                    # Narrow tiles (portrait) get a smaller figure so that "+25.0" never overlaps.
                    font_size=figure_size,
                    color=theme.rgba(theme.TEXT),
                )
            )
            if tile.note:
                colour = {True: theme.PROMOTER, False: theme.DETRACTOR}.get(tile.good, theme.MUTED_TEXT)
                note = Label(
                    text=tile.note,
                    bold=True,
                    font_size=max(12, self.u * 2.5),
                    color=theme.rgba(colour),
                    halign="center",
                    size_hint_y=None,
                    height=max(14, self.u * 3.2),
                )
                note.bind(width=lambda label, width: setattr(label, "text_size", (width, None)))
                box.add_widget(note)
            caption = Label(
                text=tile.label,
                font_size=max(12, self.u * 2.6),
                color=theme.rgba(theme.MUTED_TEXT),
                halign="center",
                valign="top",
            )
            # Wrap within the tile's own width, whatever it becomes after layout.
            caption.bind(width=lambda label, width: setattr(label, "text_size", (width, None)))
            box.add_widget(caption)
            tiles.add_widget(box)
        reasons = "\n".join(f"{count:>4}  {name}" for count, name in view.reasons) or "—"
        self.reasons_text = f"[b]{view.reasons_title}[/b]\n{reasons}"
        # Storage problems first: they mean answers may not be kept; then head office's open alerts.
        self.sync_text = "\n".join((*view.storage_lines, *view.alert_lines, *view.sync_lines))

    def choose(self, days: int) -> None:
        if self.actions is not None:
            self.actions.choose_period(days)

    def export(self) -> None:
        if self.actions is not None:
            self.actions.export_csv()

    def back(self) -> None:
        if self.actions is not None:
            self.actions.leave_manager()

    def exit_app(self) -> None:
        if self.actions is not None:
            self.actions.exit_app()
