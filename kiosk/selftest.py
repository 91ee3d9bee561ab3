"""`kiosk selftest`: proof that this installation (the venv or the PyInstaller bundle) really works end to end.

It creates a throwaway kiosk in a temporary directory (never $KIOSK_HOME), starts the real app offscreen
(SDL_VIDEODRIVER=offscreen) with the same Kivy settings, composition and sync jobs as `kiosk run`, taps the
first face of the first question through Kivy's real touch path (a MotionEvent posted to the event loop,
as `kivy.tests.common.UnitTestTouch` does), then checks that the answer was stored and is counted in
today's scores, that every survey language found its translation catalog, and that the window is not blank.
It writes a screenshot of the window after the tap. A failure is a `SelftestError` with a one-line reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.bootstrap import Kiosk, open_kiosk, utc_now
from kiosk.config import default_config_text

SIZE = (800, 480)
# A blank window (one colour) has a spread near 0; a screen with text and buttons is far above it.
MIN_PIXEL_SPREAD = 5.0


class SelftestError(Exception):
    """The self-test failed; the message is one line saying why."""


@dataclass(frozen=True, slots=True)
class SelftestResult:
    question_id: str
    value: str
    tap_at: tuple[int, int]
    answer_id: str
    responses_today: int
    screenshot: Path
    seconds: float
    data_dir: Path | None  # kept with --keep, else removed

    def lines(self) -> list[str]:
        kept = [f"data directory kept: {self.data_dir}"] if self.data_dir is not None else []
        return [
            f"tapped face {self.value} of {self.question_id!r} at {self.tap_at}: stored (answer "
            f"{self.answer_id}), scored ({self.responses_today} response today)",
            f"screenshot: {self.screenshot}",
            *kept,
            f"selftest passed (kiosk {__version__}, {self.seconds:.1f} s)",
        ]


def check_recorded(
    rows: Iterable[Mapping[str, Any]], report: Mapping[str, Any], question_id: str, value: str
) -> tuple[str, int]:
    """The id of the stored answer and the day's response count; SelftestError when either is missing."""
    stored = [r for r in rows if r["question_id"] == question_id and str(r["value"]) == value]
    if len(stored) != 1:
        raise SelftestError(f"the tap on {question_id} = {value} stored {len(stored)} answers, not 1")
    days = report.get("days") or []
    if len(days) != 1:
        raise SelftestError(f"today's scores hold {len(days)} days, not 1")
    question = days[0].get("questions", {}).get(question_id)
    if question is None:
        raise SelftestError(f"today's scores have no question {question_id!r}")
    if question.get("responses") != 1:
        raise SelftestError(
            f"today's scores count {question.get('responses')} responses to {question_id!r}, not 1"
        )
    return str(stored[0]["id"]), int(question["responses"])


def pixel_spread(data: bytes) -> float:
    """Standard deviation of sampled bytes of an RGB picture: near 0 when it is one colour."""
    sample = data[:: 3 * 97]
    if not sample:
        return 0.0
    mean = sum(sample) / len(sample)
    return float((sum((b - mean) ** 2 for b in sample) / len(sample)) ** 0.5)


def create_kiosk(data_dir: Path) -> Kiosk:
    data_dir.mkdir(parents=True)
    text = default_config_text("selftest", "selftest", "Europe/Paris", "Selftest")
    (data_dir / "kiosk.toml").write_text(text, encoding="utf-8")
    return open_kiosk(data_dir)


@dataclass
class _Driver:
    """Drives the running app from Kivy's clock: first frame -> tap -> checks -> screenshot -> stop."""

    kiosk: Kiosk
    app: Any
    screenshot: Path
    tap_at: tuple[int, int] = (0, 0)
    question_id: str = ""
    value: str = ""
    answer_id: str = ""
    responses: int = 0
    failure: str | None = None
    done: bool = False

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
        self.stop()

    def stop(self) -> None:
        root = self.app.kiosk_root
        if root is not None:
            root.exit_requested = True
        self.done = True
        self.app.stop()

    def guarded(self, step: Any) -> Any:
        # The app's own exception handler would swallow an error and reset the screen; here it must fail.
        def run(*args: Any) -> None:
            try:
                step(*args)
            except SelftestError as error:
                self.fail(str(error))
            except Exception as error:
                self.fail(f"{type(error).__name__}: {error}")

        return run

    def first_frame(self, *_: Any) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        Window.unbind(on_flip=self.on_first_frame)
        Clock.schedule_once(self.guarded(self.tap), 0.2)

    def tap(self, *_: Any) -> None:
        from kivy.clock import Clock

        from kiosk.ui.presenters import question_screen_name

        root = self.app.kiosk_root
        if root is None:
            raise SelftestError("the app showed a frame but has no root widget")
        question = self.kiosk.config.survey.questions[0]
        screen = root.manager.current_screen
        if screen.name != question_screen_name(question):
            raise SelftestError(f"the first screen is {screen.name!r}, not the first question's")
        targets = list(reversed(screen.ids.targets.children))
        if not targets:
            raise SelftestError(f"the first screen {screen.name!r} shows nothing to tap")
        first = targets[0]
        x, y = first.to_window(*first.center)
        self.tap_at = (round(x), round(y))
        self.question_id, self.value = question.id, str(first.value)
        touch = make_touch(x, y)
        touch.touch_down()
        touch.touch_up()
        # A few frames for the next screen to be drawn before the checks and the screenshot.
        Clock.schedule_once(self.guarded(self.check), 0.5)

    def check(self, *_: Any) -> None:
        from kivy.core.window import Window

        today = self.kiosk.today(utc_now())
        self.answer_id, self.responses = check_recorded(
            self.kiosk.store.answers(), self.kiosk.scores(today, today), self.question_id, self.value
        )
        translator = self.app.deps.translator
        missing = [lang for lang in self.kiosk.config.survey.languages if not translator.has_catalog(lang)]
        if missing:
            raise SelftestError(
                f"no translation catalog for {', '.join(missing)} (assets/locale/*.mo not installed?)"
            )
        Window.bind(on_flip=self.on_shot_frame)
        Window.canvas.ask_update()

    def shoot(self, *_: Any) -> None:
        from kivy.core.window import Window
        from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels

        Window.unbind(on_flip=self.on_shot_frame)
        width, height = Window.size
        spread = pixel_spread(bytes(glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)))
        if spread < MIN_PIXEL_SPREAD:
            raise SelftestError(f"the window is blank after the tap (pixel spread {spread:.1f})")
        # Kivy numbers screenshot names (name0001.png); it is moved to the path asked for.
        made = Window.screenshot(name=str(self.screenshot.with_name(f".{self.screenshot.stem}.png")))
        if not made or not Path(made).is_file():
            raise SelftestError(f"no screenshot written next to {self.screenshot}")
        Path(made).replace(self.screenshot)
        self.stop()

    def __post_init__(self) -> None:
        self.on_first_frame = self.guarded(self.first_frame)
        self.on_shot_frame = self.guarded(self.shoot)


def make_touch(x: float, y: float) -> Any:
    """A single touch at window coordinates, dispatched like a real one (what UnitTestTouch does; that
    class lives in kivy.tests.common, which imports pytest, so it is not shipped in the bundle)."""
    from kivy.base import EventLoop
    from kivy.input.motionevent import MotionEvent

    class SelftestTouch(MotionEvent):  # type: ignore[misc]
        def depack(self, args: dict[str, float]) -> None:
            self.sx, self.sy = args["x"], args["y"]
            super().depack(args)

        def touch_down(self) -> None:
            EventLoop.post_dispatch_input("begin", self)

        def touch_up(self) -> None:
            EventLoop.post_dispatch_input("end", self)

    window = EventLoop.window
    touch = SelftestTouch(
        "SelftestTouch",
        99,
        {"x": x / (window.width - 1.0), "y": y / (window.height - 1.0)},
        is_touch=True,
        type_id="touch",
    )
    touch.profile = ["pos"]
    return touch


def run_selftest(
    screenshot: Path | None = None, keep: bool = False, timeout_s: float = 60.0
) -> SelftestResult:
    """Run the self-test in this process (it opens Kivy's one window, so call it once per process)."""
    started = time.monotonic()
    if screenshot is not None and not screenshot.absolute().parent.is_dir():
        raise SelftestError(f"cannot write the screenshot: {screenshot.absolute().parent} is not a directory")
    try:
        work = Path(tempfile.mkdtemp(prefix="kiosk-selftest-"))
    except OSError as error:
        raise SelftestError(f"cannot create a temporary directory: {error.strerror}") from None
    data_dir = work / "kiosk"
    target = (screenshot or work / "selftest.png").absolute()
    # Always offscreen and a throwaway Kivy home: the self-test must not need or disturb a display.
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    os.environ["KIVY_HOME"] = str(work / "kivy-home")
    try:
        kiosk = create_kiosk(data_dir)
        try:
            driver = _drive(kiosk, target, timeout_s)
        finally:
            kiosk.close()
    except SelftestError:
        raise
    except Exception as error:
        # Whatever breaks is the finding: one line naming it, not a traceback.
        raise SelftestError(
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from None
    finally:
        if not keep:
            # The temporary directory stays only for what is still wanted in it: the screenshot.
            screenshot_inside = target.parent == work and target.is_file()
            shutil.rmtree(data_dir if screenshot_inside else work, ignore_errors=True)
            shutil.rmtree(work / "kivy-home", ignore_errors=True)
    if driver.failure is not None:
        raise SelftestError(driver.failure)
    return SelftestResult(
        question_id=driver.question_id,
        value=driver.value,
        tap_at=driver.tap_at,
        answer_id=driver.answer_id,
        responses_today=driver.responses,
        screenshot=target,
        seconds=time.monotonic() - started,
        data_dir=data_dir if keep else None,
    )


def _drive(kiosk: Kiosk, screenshot: Path, timeout_s: float) -> _Driver:
    from kiosk import bootstrap
    from kiosk.ui.boot import configure_kivy

    # The same composition as `kiosk run`: the sync jobs run too (unpaired, so they only wait).
    parts = bootstrap.compose_app(kiosk)
    parts.start_sync()
    try:
        deps = parts.deps
        configure_kivy(kivy_home=Path(os.environ["KIVY_HOME"]), fullscreen=False, size=SIZE)
        # Kivy is imported only now, after its configuration.
        from kiosk.ui import app as ui_app

        try:
            ui_app.ensure_window()
        except ui_app.DisplayUnavailable as error:
            raise SelftestError(str(error)) from None
        from kivy.clock import Clock
        from kivy.core.window import Window

        app = ui_app.KioskApp(deps)
        driver = _Driver(kiosk, app, screenshot)
        Window.bind(on_flip=driver.on_first_frame)
        Clock.schedule_once(lambda _dt: driver.fail(f"not done within {timeout_s:.0f} s"), timeout_s)
        app.run()
        if not driver.done:
            driver.failure = driver.failure or "the app stopped before the test was done"
        return driver
    finally:
        parts.stop()
