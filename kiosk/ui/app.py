"""The Kivy app of `kiosk run` and `kiosk selftest`: the root widget (the screens of the survey, "thank you",
the PIN pad and the dashboard, and the one place where taps become presenter calls and presenter state
becomes the screen on show), the .kv files and the bundled font, and the hardened window (no close, no
Escape, exceptions logged and the screen reset).

Every handler is guarded: an exception is logged and the kiosk goes back to the start screen, it never
stops. Timeouts are checked by a Clock tick against the injected monotonic clock, so tests can move time.
Import this module only after `kiosk.ui.boot.configure_kivy` (or, in tests, after setting up Kivy's
environment): importing Kivy modules reads Kivy's configuration. Its dependencies (`UiDeps`) come from the
composition root, kiosk.bootstrap.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from kivy.app import App
from kivy.base import EventLoop, ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.domain.survey import Kind, Question
from kiosk.paths import asset_dir, ui_dir
from kiosk.ui import theme
from kiosk.ui.i18n import language_name
from kiosk.ui.presenters import (
    THANKS,
    PinOutcome,
    PinPad,
    SurveyFlow,
    UiDeps,
    dashboard_view,
    question_screen_name,
    scale_ends,
    scores_start,
    targets,
)
from kiosk.ui.screens.question import ChoiceScreen, FacesScreen, QuestionScreen, ScaleScreen
from kiosk.ui.widgets import CornerHold

if TYPE_CHECKING:
    # The other screens are imported when first built: not on the way to the first frame.
    from kiosk.ui.screens.dashboard import DashboardScreen
    from kiosk.ui.screens.pin import PinScreen
    from kiosk.ui.screens.thanks import ThanksScreen

log = logging.getLogger("kiosk.ui")

# A new configuration replaces the screens only when nobody has touched the kiosk for this long.
IDLE_BEFORE_RECONFIGURE_S = 2.0

PIN = "manager-pin"
DASHBOARD = "manager-dashboard"

F = TypeVar("F", bound=Callable[..., Any])

_loaded_kv: set[str] = set()


def load_kv(name: str) -> None:
    """Load one of the UI's .kv files, once per process."""
    if name not in _loaded_kv:
        Builder.load_file(str(ui_dir() / name))
        _loaded_kv.add(name)


def guarded(method: F) -> F:
    """Log an exception raised by a handler and reset the kiosk instead of letting it end the app."""

    @functools.wraps(method)
    def wrapper(self: KioskRoot, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception:
            log.exception("handler %s failed; back to the start screen", method.__name__)
            self.recover()
            return None

    return cast(F, wrapper)


def screen_class(question: Question) -> type[QuestionScreen]:
    if question.kind is Kind.TEXT:
        # The keyboard screen is imported and built only when a comment is asked for: never at start.
        from kiosk.ui.screens.text import TextScreen

        load_kv("screens/text.kv")
        return TextScreen
    if question.kind in (Kind.SMILEY5, Kind.SMILEY4):
        return FacesScreen
    if question.kind is Kind.CHOICE:
        return ChoiceScreen
    return ScaleScreen


class KioskRoot(FloatLayout):
    language = StringProperty("")
    exit_requested = BooleanProperty(False)
    manager_open = BooleanProperty(False)

    def __init__(self, deps: UiDeps, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Set by the app: how to stop it (the one exit, from the dashboard).
        self.quit: Callable[[], None] | None = None
        self._build(deps)
        self._ticker = Clock.schedule_interval(self.tick, 0.25)

    def _build(self, deps: UiDeps) -> None:
        """Every screen from the configuration in `deps` (again, when a new configuration is applied)."""
        self.clear_widgets()
        self.deps = deps
        config = deps.config
        self.flow = SurveyFlow(
            config.survey, deps.record, config.display, config.followup, deps.followup_links
        )
        lockout = deps.pin_lockout()
        self.pin = PinPad(None, lockout.failures, lockout.locked_until, saved=deps.save_pin_lockout)
        self.last_touch = deps.monotonic()
        self.pin_outcome: PinOutcome | None = None
        self.manager = ScreenManager(transition=NoTransition())
        accent = config.display.accent_colour
        branding = {
            "store_name": config.store.name,
            "logo": str(deps.logo) if deps.logo else "",
            "accent": theme.rgba(accent),
            "accent_fg": theme.rgba(theme.text_on(accent)),
            "languages": [(code, language_name(code)) for code in config.survey.languages],
            "tr": deps.translator,
            "actions": self,
        }
        # Only the first question's screen is built before the first frame; the others follow right after it
        # (`prepare`), or when first shown. The manager's screens are built the first time they are needed.
        self._branding = branding
        self.question_screens: dict[str, QuestionScreen] = {}
        self._thanks: ThanksScreen | None = None
        self.question_screen(config.survey.questions[0])
        self._pin_screen: PinScreen | None = None
        self._dashboard: DashboardScreen | None = None
        self.add_widget(self.manager)
        self.corner = CornerHold(
            size_hint=(None, None),
            size=(theme.MIN_TARGET_PX * 1.5, theme.MIN_TARGET_PX * 1.5),
            pos_hint={"x": 0, "top": 1},
            hold_seconds=config.display.manager_hold_seconds,
            hold_action=self.open_pin,
        )
        self.add_widget(self.corner)
        self.show_shopper()

    # -- plumbing -------------------------------------------------------------------------------------------

    def question_screen(self, question: Question) -> QuestionScreen:
        screen = self.question_screens.get(question.id)
        if screen is None:
            screen = screen_class(question)(name=question_screen_name(question), **self._branding)
            self.question_screens[question.id] = screen
            self.manager.add_widget(screen)
        return screen

    @property
    def thanks(self) -> ThanksScreen:
        if self._thanks is None:
            from kiosk.ui.screens.thanks import ThanksScreen

            load_kv("screens/thanks.kv")
            self._thanks = ThanksScreen(name=THANKS, **self._branding)
            self.manager.add_widget(self._thanks)
        return self._thanks

    def prepare(self) -> None:
        """Build the shopper's other screens now (once the first frame is up), so that no tap waits for one."""
        for question in self.deps.config.survey.questions:
            if question.kind is not Kind.TEXT:  # the keyboard waits until a comment is asked for
                self.question_screen(question)
        _ = self.thanks

    @property
    def pin_screen(self) -> PinScreen:
        if self._pin_screen is None:
            from kiosk.ui.screens.pin import PinScreen

            load_kv("screens/pin.kv")
            self._pin_screen = PinScreen(name=PIN, **self._branding)
            self.manager.add_widget(self._pin_screen)
        return self._pin_screen

    @property
    def dashboard(self) -> DashboardScreen:
        if self._dashboard is None:
            from kiosk.ui.screens.dashboard import DashboardScreen

            load_kv("screens/dashboard.kv")
            self._dashboard = DashboardScreen(name=DASHBOARD, **self._branding)
            self.manager.add_widget(self._dashboard)
        return self._dashboard

    @property
    def current(self) -> str:
        return str(self.manager.current)

    def now(self) -> float:
        return self.deps.monotonic()

    def on_touch_down(self, touch: Any) -> bool:
        now = self.now()
        self.last_touch = now
        self.flow.touch(now)
        if self.current == THANKS and not self.manager_open and self.thanks_tapped(now):
            return True  # the tap ended the QR code's screen: it must not reach the start screen too
        return bool(super().on_touch_down(touch))

    def stop(self) -> None:
        self._ticker.cancel()

    def recover(self) -> None:
        """After a failure: a fresh visit on the start screen, the manager screens closed."""
        try:
            self.manager_open = False
            self.flow.reset(self.now())
            self.pin.clear()
            self.show_shopper()
        except Exception:
            log.exception("could not reset the screen")

    # -- the shopper's visit --------------------------------------------------------------------------------

    def show_shopper(self) -> None:
        flow = self.flow
        self.language = flow.language
        question = flow.question
        if question is None:
            self.thanks.lang = flow.language
            self.thanks.show(flow.thanks.apology, flow.thanks.url)
        else:
            screen = self.question_screen(question)
            screen.lang = flow.language
            screen.show_languages = flow.at_start and len(self.deps.config.survey.languages) > 1
            screen.show(
                question.text.get(flow.language, question.id),
                targets(
                    question,
                    flow.language,
                    self.deps.translator,
                    zones=self.deps.config.display.scale_colours == "zones",
                ),
                scale_ends(question, flow.language, self.deps.translator),
            )
        self.corner.enabled = True
        self.manager.current = flow.screen_name

    @guarded
    def answer(self, value: str) -> None:
        if self.manager_open:
            return
        if self.flow.answer(value, self.deps.wall(), self.now()):
            self.show_shopper()

    @guarded
    def thanks_tapped(self, now: float) -> bool:
        """A tap on the QR code's screen: the shopper is done, back to the start; True if it was."""
        if not self.flow.end_thanks(now):
            return False
        self.deps.visit_ended(self.deps.wall())
        self.show_shopper()
        return True

    @guarded
    def skip(self) -> None:
        if self.flow.skip(self.now()):
            self.show_shopper()

    @guarded
    def set_language(self, language: str) -> None:
        if self.flow.set_language(language, self.now()):
            self.show_shopper()

    @guarded
    def tick(self, *_: object) -> None:
        now = self.now()
        # Answers held in memory while the database could not write are retried here too, not only on the
        # next tap: a quiet hour must not leave them unwritten (the holder spaces the tries out).
        self.deps.retry_storage(now)
        if self.manager_open:
            if now - self.last_touch >= self.deps.config.display.idle_timeout_seconds:
                self.leave_manager()
            elif self.current == PIN:
                # Also after the lock ends, or "try again in 1 s" would stay on the pad.
                self.pin_screen.message = self._pin_message()
            return
        if self.flow.tick(now):
            self.deps.visit_ended(self.deps.wall())
            self.show_shopper()
        elif self.flow.at_start and now - self.last_touch >= IDLE_BEFORE_RECONFIGURE_S:
            fresh = self.deps.new_config()
            if fresh is not None:
                log.info("applying the new configuration")
                self._build(fresh)
                self.prepare()

    # -- the manager ----------------------------------------------------------------------------------------

    @guarded
    def open_pin(self) -> None:
        self.manager_open = True
        self.corner.enabled = False
        # The PIN and the lockout as the files say now (`kiosk set-pin` takes effect without a restart).
        state, lockout = self.deps.pin_state(), self.deps.pin_lockout()
        self.pin.verify, self.pin.problem = state.verify, state.problem
        self.pin.failures, self.pin.locked_until = lockout.failures, lockout.locked_until
        self.pin.clear()
        self.pin_outcome = None
        self.pin_screen.lang = self.flow.language
        self.pin_screen.digits = 0
        self.pin_screen.message = self._pin_message()
        self.last_touch = self.now()
        self.manager.current = PIN

    def _pin_message(self) -> str:
        return self.pin.message(
            self.pin_outcome, self.wall_seconds(), self.pin_screen.lang, self.deps.translator
        )

    def wall_seconds(self) -> float:
        """The PIN lockout runs on wall-clock time: it is kept across restarts."""
        return self.deps.wall().timestamp()

    @guarded
    def pin_key(self, key: str) -> None:
        now = self.wall_seconds()
        if key == "erase":
            self.pin.erase()
        elif key == "ok":
            self.pin_outcome = self.pin.submit(now)
            if self.pin_outcome is PinOutcome.ACCEPTED:
                self.open_dashboard()
                return
        else:
            self.pin.press(key, now)
        self.pin_screen.digits = len(self.pin.entered)
        self.pin_screen.message = self._pin_message()

    @guarded
    def open_dashboard(self, period: int = 1) -> None:
        deps = self.deps
        wall = deps.wall()
        today = deps.today(wall)
        first = today - dt.timedelta(days=period - 1)
        view = dashboard_view(
            deps.config.survey,
            deps.scores(scores_start(today), today),
            period,
            deps.visits_by_quarter(first, today),
            deps.config.store.tz,
            deps.sync_status(),
            self.pin_screen.lang,
            deps.translator,
            deps.storage_status(),
            deps.config.targets,
        )
        self.dashboard.lang = self.pin_screen.lang
        self.dashboard.status = ""
        self.dashboard.view = view
        self.last_touch = self.now()
        self.manager.current = DASHBOARD

    @guarded
    def choose_period(self, days: int) -> None:
        if self.current == DASHBOARD:
            self.open_dashboard(days)

    @guarded
    def leave_manager(self) -> None:
        self.manager_open = False
        self.pin.clear()
        self.flow.reset(self.now())
        self.show_shopper()

    @guarded
    def export_csv(self) -> None:
        tr, lang = self.deps.translator, self.dashboard.lang
        self.dashboard.status = tr(lang, "Exporting…")
        at = self.deps.wall()

        def work() -> None:
            try:
                path: Path | str = self.deps.export_csv(at)
                message = tr(lang, "Exported to {path}").format(path=path)
            except Exception as error:  # a missing USB stick, a full disk: say it, keep going
                log.exception("export failed")
                message = tr(lang, "Export failed: {error}").format(error=error)
            # Back on the UI thread: widgets are never touched from the worker.
            Clock.schedule_once(lambda _dt: setattr(self.dashboard, "status", message))

        threading.Thread(target=work, name="kiosk-export", daemon=True).start()

    def exit_app(self) -> None:
        """Only from the manager dashboard: the one way to close the kiosk on purpose."""
        if self.current != DASHBOARD:
            return
        self.exit_requested = True
        if self.quit is not None:
            self.quit()


log = logging.getLogger("kiosk.ui")

# How long after the first frame `after_start` runs: the shopper's screen comes first.
AFTER_START_DELAY_S = 1.0
# When the shopper's other screens are built: after the first frame, before a shopper can have read it.
PREPARE_DELAY_S = 0.05

# What the shopper's screens need; the manager's screens load theirs when first opened (KioskRoot).
KV_FILES = (
    "widgets.kv",
    "screens/base.kv",
    "screens/question.kv",
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
        root = self.kiosk_root
        if root is not None:
            Clock.schedule_once(lambda _dt: root.prepare(), PREPARE_DELAY_S)
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
