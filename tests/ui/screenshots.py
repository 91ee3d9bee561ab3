"""Draws every screen of the kiosk at the panel sizes we support, in French and English.

Run `python tests/ui/screenshots.py [DIR]` (default docs/screenshots) to refresh the pictures; the UI tests
call `capture_all` into a temporary directory and check that none is blank.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

SIZES = ((800, 480), (1920, 1080), (480, 800))
# The store's goals, so that the dashboard pictures show targets and gaps.
TARGETS = "csat = 85\nnps = 30\nhappy_index = 60"


def capture_all(ui: Any, out: Path) -> list[tuple[Path, float]]:
    from kit import pixel_spread, pump, tap

    ui.seed()
    shots: list[tuple[Path, float]] = []

    def shot(name: str, size: tuple[int, int]) -> None:
        ui.resize(size)
        path = out / f"{name}-{size[0]}x{size[1]}.png"
        image = ui.render(path)
        shots.append((path, pixel_spread(image)))

    for language in ("fr", "en"):
        for size in SIZES:
            ui.root.recover()
            ui.resize(size)
            ui.root.set_language(language)
            pump(2)
            shot(f"{language}-1-smiley5-start", size)
            tap(ui.target("2"))
            shot(f"{language}-2-reasons", size)
            tap(ui.target("waiting"))
            shot(f"{language}-3-nps", size)
            tap(ui.target("8"))
            shot(f"{language}-4-thanks", size)
            ui.tick(5)
            ui.root.set_language(language)
            ui.root.open_pin()
            pump(2)
            for key in "24":
                ui.root.pin_key(key)
            shot(f"{language}-5-pin", size)
            for key in ("6", "8", "ok"):
                ui.root.pin_key(key)
            shot(f"{language}-6-dashboard", size)
            ui.root.choose_period(30)
            shot(f"{language}-7-dashboard-30-days", size)
            ui.root.leave_manager()
    return shots


def capture_followup(ui: Any, out: Path) -> list[Path]:
    """The thank-you screen after a low score on a paired kiosk holding its follow-up key (`kit.pair`): the
    apology and the QR code of the visit's follow-up link, in both languages at every size."""
    from kit import pump, tap

    shots = []
    for language in ("fr", "en"):
        for size in SIZES:
            ui.root.recover()
            ui.resize(size)
            ui.root.set_language(language)
            pump(2)
            tap(ui.target("1"))
            tap(ui.target("waiting"))
            tap(ui.target("8"))
            path = out / f"{language}-9-followup-qr-{size[0]}x{size[1]}.png"
            ui.render(path)
            shots.append(path)
    return shots


# A survey that ends with a comment typed at the kiosk (kind "text", README "An optional comment...").
COMMENT_QUESTION = """
[[questions]]
id = "comment"
kind = "text"
text = { fr = "Un mot de plus ? (facultatif)", en = "Anything else? (optional)" }
"""
# What the pictures show typed: a capital, accents, a space (and the accent layer open in French).
TYPED = {"fr": ("Caisse très rapide, merci", True), "en": ("Quick checkout, thanks", False)}


def capture_comment(ui: Any, out: Path) -> list[tuple[Path, float]]:
    """The comment screen with a few words typed on its keyboard, in both languages at every size."""
    from kit import pixel_spread, pump, tap

    shots = []
    for language in ("fr", "en"):
        for size in SIZES:
            ui.root.recover()
            ui.resize(size)
            ui.root.set_language(language)
            pump(2)
            tap(ui.target("4"))
            tap(ui.target("9"))
            screen = ui.screen
            text, accents = TYPED[language]
            for character in text:
                screen.press("space" if character == " " else character)
            if accents:
                screen.press("layer")
            path = out / f"{language}-10-comment-{size[0]}x{size[1]}.png"
            image = ui.render(path)
            shots.append((path, pixel_spread(image)))
    return shots


def main() -> None:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    )
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    from kiosk.ui.boot import configure_kivy

    configure_kivy(
        kivy_home=Path(tempfile.mkdtemp(prefix="kiosk-kivy-home-")), fullscreen=False, size=(800, 480)
    )
    sys.path.insert(0, str(Path(__file__).parent))
    from kit import UiHarness, make_kiosk_dir, pair
    from kivy.base import EventLoop

    from kiosk.ui.app import load_resources

    EventLoop.ensure_window()
    load_resources()
    ui = UiHarness(make_kiosk_dir(Path(tempfile.mkdtemp()) / "kiosk", pin="2468", targets=TARGETS))
    try:
        for path, spread in capture_all(ui, out):
            print(f"{path}  spread {spread:.0f}")
    finally:
        ui.close()
    paired = make_kiosk_dir(Path(tempfile.mkdtemp()) / "kiosk")
    pair(paired)
    ui = UiHarness(paired)
    try:
        for path in capture_followup(ui, out):
            print(path)
    finally:
        ui.close()
    with_comment = make_kiosk_dir(Path(tempfile.mkdtemp()) / "kiosk")
    with (with_comment / "kiosk.toml").open("a", encoding="utf-8") as file:
        file.write(COMMENT_QUESTION)
    ui = UiHarness(with_comment)
    try:
        for path, _spread in capture_comment(ui, out):
            print(path)
    finally:
        ui.close()
    # A long store name: wrapped between words and shrunk to fit the header, never cut.
    long_name = make_kiosk_dir(
        Path(tempfile.mkdtemp()) / "kiosk", name="Épicerie fine du Marché Saint-Germain-des-Prés 24"
    )
    for size in ((480, 800), (800, 480)):
        ui = UiHarness(long_name, size=size)
        try:
            ui.resize(size)
            path = out / f"fr-8-long-store-name-{size[0]}x{size[1]}.png"
            ui.render(path)
            print(path)
        finally:
            ui.close()


if __name__ == "__main__":
    main()
