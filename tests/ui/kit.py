"""Helpers of the UI tests and the screenshot script: a demo kiosk on disk, a root widget on the shared
window with a clock the test moves, taps at widget centres, and rendering a screen at any size."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from kiosk.bootstrap import build_deps, open_kiosk
from kiosk.config import default_config_text
from kiosk.pin import save_pin
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer


def make_kiosk_dir(
    path: Path, pin: str | None = None, display: str = "", targets: str = "", name: str = "Épicerie Rivoli"
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    text = default_config_text("paris-01", "till-1", "Europe/Paris", name)
    if display:
        text = text.replace("[display]\n", f"[display]\n{display}\n", 1)
    if targets:
        text += f"\n[targets]\n{targets}\n"
    (path / "kiosk.toml").write_text(text, encoding="utf-8")
    if pin is not None:
        save_pin(path, pin)
    return path


PAIRED_URL = "https://central.example.com"
PUBLIC_URL = "https://feedback.example.com"
FOLLOWUP_SECRET = bytes(range(32))


def pair(data_dir: Path, public_url: str | None = PUBLIC_URL, key: bool = True) -> None:
    """Pair the kiosk with a head office and, with `key`, give it the follow-up key head office would send
    (its public URL, or None: phones open the paired URL)."""
    import base64

    from sync.followup import FollowupLink, save_followup_link
    from sync.pairing import Pairing, save_pairing

    save_pairing(data_dir, Pairing(PAIRED_URL, "a1b2c3d4.device-secret"))
    if key:
        secret = base64.urlsafe_b64encode(FOLLOWUP_SECRET).decode().rstrip("=")
        link = FollowupLink(public_url or PAIRED_URL, "869983e7", secret, PAIRED_URL, "a1b2c3d4")
        save_followup_link(data_dir, link)


def decode_qr(path: Path) -> list[str]:
    """What zbarimg reads in a picture: one text per code found."""
    import subprocess

    done = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    return done.stdout.split()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pump(frames: int = 3) -> None:
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def tap(widget: Any, frames: int = 2) -> None:
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    pump(frames)


def tap_at(x: float, y: float) -> None:
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    pump(2)


def find(widget: Any, predicate: Any) -> list[Any]:
    return [w for w in widget.walk(restrict=True) if predicate(w)]


def texts(widget: Any) -> list[str]:
    from kivy.uix.label import Label

    # What a person can read: a label drawn fully transparent (kept ready for another state) is not seen.
    return [w.text for w in widget.walk(restrict=True) if isinstance(w, Label) and w.text and w.opacity > 0]


class UiHarness:
    """One kiosk on disk and its root widget on the shared window."""

    def __init__(self, data_dir: Path, size: tuple[int, int] = (800, 480)) -> None:
        from kivy.core.window import Window

        from kiosk.ui.app import build_root

        self.data_dir = data_dir
        self.kiosk = open_kiosk(data_dir)
        self.clock = FakeClock()
        self.deps = build_deps(self.kiosk)
        self.deps.monotonic = self.clock
        # Wall-clock time (stored answers, the PIN lockout) moves only with the test's clock, plus a
        # millisecond per reading so that two taps in one test step still come in order.
        started, readings = dt.datetime.now(dt.UTC), itertools.count()
        self.deps.wall = lambda: (
            started + dt.timedelta(seconds=self.clock.now - 1000.0, milliseconds=next(readings))
        )
        self.root = build_root(self.deps)
        self.root.size_hint = (None, None)
        self.root.size = size
        Window.add_widget(self.root)
        pump()

    def close(self) -> None:
        from kivy.core.window import Window

        self.root.stop()
        Window.remove_widget(self.root)
        self.kiosk.close()

    @property
    def screen(self) -> Any:
        return self.root.manager.current_screen

    @property
    def current(self) -> str:
        return str(self.root.current)

    def targets(self) -> list[Any]:
        return list(reversed(self.screen.ids.targets.children))

    def target(self, value: str) -> Any:
        return next(t for t in self.targets() if t.value == value)

    def rows(self) -> list[dict[str, Any]]:
        return list(self.kiosk.store.answers())

    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.root.tick()
        pump(2)

    def resize(self, size: tuple[int, int]) -> None:
        self.root.size = size
        pump(4)

    def render(self, path: Path | None = None) -> Any:
        """The root drawn into an offscreen buffer of its own size (any size, unlike the one window)."""
        pump(2)
        image = self.root.export_as_image()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(str(path), flipped=False)
        return image

    def seed(self, days: int = 14) -> None:
        """Answers spread over the last `days` days, today included, for a dashboard worth looking at."""
        now = dt.datetime.now(dt.UTC)
        store = self.kiosk.store
        pattern = [5, 4, 2, 5, 3, 1, 4, 5, 4, 2]
        for day in range(days):
            for i in range(3 + (day * 7) % 9):
                at = now - dt.timedelta(days=day, minutes=37 * i + 1)
                value = pattern[(i + day) % len(pattern)]
                answer = AnswerRecorder(store).record(NewAnswer("satisfaction", value, at, language="fr"))
                if value <= 2:
                    reason = ("waiting", "staff", "price", "waiting")[(i + day) % 4]
                    AnswerRecorder(store).record(
                        NewAnswer("reason", reason, at, session_id=answer.session_id)
                    )
                AnswerRecorder(store).record(
                    NewAnswer("recommend", (value * 2 + i) % 11, at, session_id=answer.session_id)
                )
        # Night answers (the hourly chart covers all 24 hours) and yesterday's press storm (three alike visits).
        tz = self.kiosk.config.store.tz
        today = self.deps.today(now)
        night = dt.datetime(today.year, today.month, today.day, 0, 20, tzinfo=tz).astimezone(dt.UTC)
        for minutes in (0, -60, -150):
            at = night + dt.timedelta(minutes=minutes)
            if at < now:
                AnswerRecorder(store).record(NewAnswer("satisfaction", 4, at, language="en"))
        for i in range(3):
            at = night - dt.timedelta(hours=8) + dt.timedelta(seconds=7 * i)
            answer = AnswerRecorder(store).record(NewAnswer("satisfaction", 1, at, language="fr"))
            AnswerRecorder(store).record(
                NewAnswer("reason", "price", at + dt.timedelta(seconds=2), session_id=answer.session_id)
            )
        AnswerRecorder(store).end_visits(now)


def pixel_spread(image: Any) -> float:
    """Standard deviation of sampled pixel bytes: near 0 for a blank (one-colour) picture."""
    data = image.texture.pixels
    sample = data[:: 4 * 97]
    mean = sum(sample) / len(sample)
    return float((sum((b - mean) ** 2 for b in sample) / len(sample)) ** 0.5)
