"""The manager dashboard: today's figures, the distribution, the hourly pattern, the 14-day trend, the top
reasons, the repeated presses and the sync state, all from a `DashboardView` made by the presenter."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui import theme
from kiosk.ui.presenters import DashboardView
from kiosk.ui.screens.base import KioskScreen


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
        if view is None:
            return
        self.title = view.title
        for tile in view.tiles:
            box = BoxLayout(orientation="vertical", padding=self.u)
            box.add_widget(
                Label(
                    text=tile.value,
                    bold=True,
                    # Narrow tiles (portrait) get a smaller figure so that "+25.0" never overlaps.
                    font_size=max(18, min(self.u * 7, self.width / max(1, len(view.tiles)) / 3.8)),
                    color=theme.rgba(theme.TEXT),
                )
            )
            caption = Label(
                text=tile.label,
                font_size=max(13, self.u * 2.8),
                color=theme.rgba(theme.MUTED_TEXT),
                halign="center",
                valign="top",
            )
            # Wrap within the tile's own width, whatever it becomes after layout.
            caption.bind(width=lambda label, width: setattr(label, "text_size", (width, None)))
            box.add_widget(caption)
            tiles.add_widget(box)
        reasons = "\n".join(f"{count:>4}  {name}" for name, count in view.reasons) or "—"
        self.reasons_text = f"[b]{view.reasons_title}[/b]\n{reasons}"
        # Storage problems first: they mean answers may not be kept.
        self.sync_text = "\n".join((*view.storage_lines, *view.sync_lines))

    def export(self) -> None:
        if self.actions is not None:
            self.actions.export_csv()

    def back(self) -> None:
        if self.actions is not None:
            self.actions.leave_manager()

    def exit_app(self) -> None:
        if self.actions is not None:
            self.actions.exit_app()
