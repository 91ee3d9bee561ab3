"""Kivy's settings for a kiosk, applied before any other Kivy module is imported.

Kivy reads its configuration when its modules are first imported, so `configure_kivy` must run first: it
sets the environment (no argument parsing, no ~/.kivy, the SDL2 window only) and the `Config` sections that
make a public touchscreen: no exit on Escape, no cursor, no screensaver, one input provider, no multitouch
emulation dots.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def configure_kivy(
    *,
    kivy_home: Path,
    fullscreen: bool = True,
    size: tuple[int, int] | None = None,
    console_log: bool = False,
) -> None:
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    # Only the SDL2 window: Kivy's fallback X11 provider kills the process (exit 102) when there is no X
    # server, where SDL2 fails cleanly and we can say so in one line.
    os.environ.setdefault("KIVY_WINDOW", "sdl2")
    if not console_log:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if sys.platform.startswith("linux") and "SDL_VIDEODRIVER" not in os.environ:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            # A Raspberry Pi console without a desktop: draw on the screen through KMS/DRM. Without this,
            # SDL quietly falls back to an invisible offscreen window and the kiosk shows nothing.
            os.environ["SDL_VIDEODRIVER"] = "kmsdrm"
    Path(os.environ["KIVY_HOME"]).mkdir(parents=True, exist_ok=True)

    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("graphics", "show_cursor", "0")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "borderless", "0")
    if fullscreen:
        Config.set("graphics", "fullscreen", "auto")
    else:
        Config.set("graphics", "fullscreen", "0")
        width, height = size or (800, 480)
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", "0")
        Config.set("graphics", "top", "0")
    # One provider per device: a touchscreen that SDL reports as a mouse and also through hidinput/mtdev
    # would register every tap twice. multitouch_on_demand removes the red right-click dots.
    for option in list(Config.options("input")) if Config.has_section("input") else []:
        Config.remove_option("input", option)
    if not Config.has_section("input"):
        Config.add_section("input")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")


def parse_size(text: str) -> tuple[int, int]:
    """`800x480` -> (800, 480); ValueError with a one-line message otherwise."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size takes WIDTHxHEIGHT like 800x480, not {text!r}") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise ValueError(f"--size {text}: each side must be from 200 to 8000 pixels")
    return width, height
