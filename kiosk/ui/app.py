"""The Kivy app and `kiosk run`: loads the .kv files and the bundled font, builds the root from `UiDeps`,
and hardens the window (no close, no Escape, exceptions logged and the screen reset).

Import this module only after `kiosk.ui.boot.configure_kivy` (or, in tests, after setting up Kivy's
environment): importing Kivy modules reads Kivy's configuration.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.base import EventLoop, ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window

from kiosk.ui import theme
from kiosk.ui.compose import UiDeps
from kiosk.ui.paths import asset_dir
from kiosk.ui.root import KioskRoot, load_kv

log = logging.getLogger("kiosk.ui")

# How long after the first frame `after_start` runs: the shopper's screen comes first.
AFTER_START_DELAY_S = 1.0

# What the shopper's screens need; the manager's screens load theirs when first opened (kiosk.ui.root).
KV_FILES = (
    "widgets.kv",
    "screens/base.kv",
    "screens/question.kv",
    "screens/thanks.kv",
)


def load_resources() -> None:
    """Register the bundled font as Kivy's default and load the shopper screens' .kv files (once each)."""
    fonts = asset_dir() / "fonts"
    # DejaVu Sans has every French accent and the symbols we draw (●, ⌫), on every device alike.
    LabelBase.register(
        DEFAULT_FONT,
        fn_regular=str(fonts / "DejaVuSans.ttf"),
        fn_bold=str(fonts / "DejaVuSans-Bold.ttf"),
    )
    for name in KV_FILES:
        load_kv(name)


def build_root(deps: UiDeps) -> KioskRoot:
    load_resources()
    return KioskRoot(deps)


class ResetOnError(ExceptionHandler):
    """Last line of defence: an exception that escaped a handler is logged, the screen is reset, and the
    event loop carries on."""

    def __init__(self, root: KioskRoot) -> None:
        super().__init__()
        self.root = root

    def handle_exception(self, inst: BaseException) -> Any:
        if isinstance(inst, KeyboardInterrupt | SystemExit):
            return ExceptionManager.RAISE
        log.error("unhandled exception, screen reset", exc_info=inst)
        self.root.recover()
        return ExceptionManager.PASS


class KioskApp(App):
    title = "Feedback kiosk"

    def __init__(
        self,
        deps: UiDeps,
        report_ready: bool = False,
        after_start: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deps = deps
        self.report_ready = report_ready
        self.after_start = after_start
        self.kiosk_root: KioskRoot | None = None

    def build(self) -> KioskRoot:
        Window.clearcolor = theme.rgba(theme.BACKGROUND)
        Window.show_cursor = False
        root = build_root(self.deps)
        root.quit = self.stop
        self.kiosk_root = root
        ExceptionManager.add_handler(ResetOnError(root))
        Window.bind(on_request_close=self.on_request_close)
        Window.bind(on_flip=self._first_frame)
        return root

    def on_request_close(self, *_: Any, **__: Any) -> bool:
        # True keeps the window open: closing is only possible from the manager dashboard.
        return not (self.kiosk_root is not None and self.kiosk_root.exit_requested)

    def _first_frame(self, *_: Any) -> None:
        Window.unbind(on_flip=self._first_frame)
        if self.report_ready:
            # For benchmarks and the X11 test: the first rating screen is on screen and takes taps now.
            Clock.schedule_once(self._print_ready, 0)
        if self.after_start is not None:
            # Background work (the sync jobs) starts once the first screen is up, not before it.
            after_start = self.after_start
            Clock.schedule_once(lambda _dt: after_start(), AFTER_START_DELAY_S)

    def _print_ready(self, *_: Any) -> None:
        root = self.kiosk_root
        if root is None:
            return
        screen = root.manager.current_screen
        centres = [
            [round(c) for c in (b.center_x, Window.height - b.center_y)]
            for b in reversed(screen.ids.targets.children)
        ]
        print(f"ready {os.getpid()} {Window.width}x{Window.height} {centres}", flush=True)


def ensure_window() -> None:
    """Open the window now, so that a missing display is a one-line error instead of a crash later."""
    try:
        EventLoop.ensure_window()
    except SystemExit:
        raise DisplayUnavailable(_display_hint()) from None
    if EventLoop.window is None:
        raise DisplayUnavailable(_display_hint())


class DisplayUnavailable(Exception):
    pass


def _display_hint() -> str:
    driver = os.environ.get("SDL_VIDEODRIVER")
    where = f"SDL_VIDEODRIVER={driver}" if driver else f"DISPLAY={os.environ.get('DISPLAY', '')!r}"
    return f"cannot open a display ({where}); run it on the kiosk's screen, or under xvfb-run to try it"


def run(deps: UiDeps, report_ready: bool = False, after_start: Callable[[], None] | None = None) -> None:
    app = KioskApp(deps, report_ready=report_ready, after_start=after_start)

    def terminate(_signum: int, _frame: Any) -> None:
        # SIGTERM (systemd stop, a shutdown) ends the app; a shopper closing the window does not. SDL
        # would turn SIGTERM into the same "quit" event as the close button, which the kiosk refuses.
        if app.kiosk_root is not None:
            app.kiosk_root.exit_requested = True
        Clock.schedule_once(lambda _dt: app.stop())

    signal.signal(signal.SIGTERM, terminate)
    ensure_window()
    app.run()


__all__ = ["DisplayUnavailable", "KioskApp", "build_root", "load_resources", "run"]
