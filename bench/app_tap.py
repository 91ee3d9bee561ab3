"""Benchmark: a tap on the kiosk -> the answer durably committed, and -> the first frame of the next screen.

Runs the real root widget in an offscreen Kivy window (Mesa software GL, SDL_VIDEODRIVER=offscreen) with
frame pacing off (maxfps 0), so that a frame is drawn as soon as the tap is handled, as in the app's loop
where input is read right before drawing. Each visit taps a face (-> the 0-10 screen) and then a 0-10 button
(-> "thank you"). Prints p50/p95 in milliseconds beside the 16.7 ms frame budget; never asserts.

    python bench/app_tap.py [VISITS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import OUT, create_kiosk


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    visits = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    from kiosk.ui.boot import configure_kivy

    configure_kivy(kivy_home=Path(tempfile.mkdtemp(prefix="bench-kivy-")), fullscreen=False, size=(800, 480))
    from kivy.config import Config

    Config.set("graphics", "maxfps", "0")
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from kiosk.bootstrap import build_deps
    from kiosk.ui.app import build_root

    # On the repository's disk (bench/out), not /tmp, which may be a tmpfs where fsync costs nothing.
    OUT.mkdir(parents=True, exist_ok=True)
    kiosk = create_kiosk(Path(tempfile.mkdtemp(prefix="tap-", dir=OUT)))
    deps = build_deps(kiosk)
    tapped = 0.0
    commits: list[float] = []
    frames: list[float] = []
    record = deps.record

    def timed_record(new: Any) -> object:
        answer = record(new)
        commits.append((time.perf_counter() - tapped) * 1000)
        return answer

    deps.record = timed_record
    EventLoop.ensure_window()
    root = build_root(deps)
    Window.add_widget(root)
    for _ in range(5):
        EventLoop.idle()
    flipped: list[float] = []
    Window.bind(on_flip=lambda *_: flipped.append(time.perf_counter()))

    def tap(widget: Any) -> None:
        nonlocal tapped
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        flipped.clear()
        tapped = time.perf_counter()
        touch.touch_down()
        touch.touch_up()
        EventLoop.idle()  # handles the tap, then draws and flips the next screen
        frames.append((flipped[0] - tapped) * 1000)

    def target(value: str) -> Any:
        screen = root.manager.current_screen
        return next(t for t in screen.ids.targets.children if t.value == value)

    for i in range(visits):
        tap(target(str(3 + i % 3)))
        tap(target(str(i % 11)))
        root.recover()
        EventLoop.idle()
    kiosk.close()
    print(f"kiosk tap benchmark: {visits} visits, {len(frames)} taps, 800x480 offscreen (llvmpipe)")
    print(
        f"  tap -> durable commit     p50 {pct(commits, 0.5):6.2f} ms  p95 {pct(commits, 0.95):6.2f} ms"
        f"  (mean {statistics.fmean(commits):.2f})"
    )
    print(
        f"  tap -> next screen frame  p50 {pct(frames, 0.5):6.2f} ms  p95 {pct(frames, 0.95):6.2f} ms"
        f"  (goal p95 <= 16.7 ms: {pct(frames, 0.95) / 16.7:.2f}x of one frame)"
    )


if __name__ == "__main__":
    main()
