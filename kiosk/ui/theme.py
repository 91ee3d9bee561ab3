"""Colours of the kiosk and the WCAG contrast arithmetic that keeps every text readable (4.5:1 at least).

Plain Python: the palettes are checked by unit tests, and the accent colour from the configuration gets
black or white text, whichever contrasts more.
"""

from __future__ import annotations

from collections.abc import Sequence

RGB = tuple[float, float, float]

BACKGROUND = "#F7F7F4"
TEXT = "#1A1A1A"
MUTED_TEXT = "#4A4A4A"
WHITE = "#FFFFFF"
BLACK = "#000000"
SURFACE = "#FFFFFF"
BUTTON = "#E4E6EB"
# NPS zones: detractors 0-6, passives 7-8, promoters 9-10. Dark red and dark green carry white text,
# amber carries black text; each pair is at least 4.5:1.
DETRACTOR = "#B3261E"
PASSIVE = "#F2B01E"
PROMOTER = "#1E7B34"
NEUTRAL_SCALE = "#3B4A5C"
# The face colours, worst to best, as drawn in assets/faces (used for the distribution bars).
FACE_COLOURS = ("#D93B2B", "#F08A24", "#F5C518", "#8BC34A", "#2E9E4F")
# Minimum touch target: 9 mm. On the 7" Raspberry Pi display (800x480 on 155 mm) 9 mm is 47 px, on a 15.6"
# 1920x1080 panel it is 51 px; 64 px keeps a margin on both.
MIN_TARGET_PX = 64


def hex_to_rgb(colour: str) -> RGB:
    text = colour.lstrip("#")
    return (int(text[0:2], 16) / 255, int(text[2:4], 16) / 255, int(text[4:6], 16) / 255)


def rgba(colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Kivy's colour form of a hex colour."""
    return (*hex_to_rgb(colour), alpha)


def relative_luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in hex_to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str, candidates: Sequence[str] = (TEXT, WHITE)) -> str:
    """The candidate text colour that reads best on `background`."""
    return max(candidates, key=lambda c: contrast_ratio(c, background))


def nps_zone_colour(value: int) -> str:
    if value <= 6:
        return DETRACTOR
    return PASSIVE if value <= 8 else PROMOTER


def smiley_colour(value: int, high: int) -> str:
    """The face colour of a smiley answer; a 4-face scale skips the neutral face."""
    return FACE_COLOURS[face_image_index(value, high) - 1]


def face_image_index(value: int, high: int) -> int:
    """Which of the five drawn faces (1..5) shows `value` on a scale of 1..high (4 or 5)."""
    if high == 5:
        return value
    return (1, 2, 4, 5)[value - 1]
