"""Headless UI tests: Kivy renders for real into an offscreen SDL window (Mesa software GL).

The environment is set before anything imports Kivy: offscreen video, a throwaway KIVY_HOME (never ~/.kivy),
no argument parsing, and the kiosk's own Kivy settings. Kivy allows one window per process, so the window is
session-wide and every test gets a fresh root widget on it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")

from kiosk.ui.boot import configure_kivy

configure_kivy(
    kivy_home=Path(tempfile.mkdtemp(prefix="kiosk-kivy-home-")),
    fullscreen=False,
    size=(800, 480),
)

sys.path.insert(0, str(Path(__file__).parent))

from kit import UiHarness, make_kiosk_dir  # noqa: E402


@pytest.fixture(scope="session")
def window() -> object:
    from kivy.base import EventLoop

    from kiosk.ui.app import load_resources

    EventLoop.ensure_window()
    load_resources()
    return EventLoop.window


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    return make_kiosk_dir(tmp_path / "kiosk", pin="2468")


@pytest.fixture
def ui(window: object, kiosk_dir: Path) -> Iterator[UiHarness]:
    harness = UiHarness(kiosk_dir)
    try:
        yield harness
    finally:
        harness.close()
