"""Draws the five smiley faces of the shopper screens into assets/faces (dev-only, needs Pillow).

The faces are our own drawings. They differ by shape as well as colour (mouth curve, open mouth, eyebrows,
closed happy eyes) so that a colour-blind shopper tells them apart. `calm.png` is the face of the apology
after a low score: soft blue, concerned brows, a small closed mouth (never a laugh at an unhappy shopper). Run `python tools/make_faces.py` after
changing a face and commit the PNGs; the kiosk itself never needs Pillow.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 384
SCALE = 4  # drawn 4x larger, then downsampled: cheap anti-aliasing
INK = (26, 26, 26, 255)
COLOURS = {
    1: (217, 59, 43),
    2: (240, 138, 36),
    3: (245, 197, 24),
    4: (139, 195, 74),
    5: (46, 158, 79),
}
OUT = Path(__file__).resolve().parent.parent / "assets" / "faces"


def face(value: int) -> Image.Image:
    s = SIZE * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    u = s / 100  # drawing unit: the face is a 100 x 100 box
    width = round(5 * u)
    d.ellipse((3 * u, 3 * u, 97 * u, 97 * u), fill=(*COLOURS[value], 255), outline=INK, width=width)

    # Eyes: round dots, except the happiest face which closes them in two upward arcs.
    if value == 5:
        for cx in (33, 67):
            d.arc(((cx - 9) * u, 32 * u, (cx + 9) * u, 50 * u), 200, 340, fill=INK, width=width)
    else:
        for cx in (34, 66):
            d.ellipse(((cx - 6) * u, 32 * u, (cx + 6) * u, 46 * u), fill=INK)
    # Eyebrows only on the two unhappy faces, steeper on the worst one.
    if value in (1, 2):
        tilt = 9 if value == 1 else 4
        d.line((22 * u, (22 + 0) * u, 42 * u, (22 + tilt) * u), fill=INK, width=width)
        d.line((58 * u, (22 + tilt) * u, 78 * u, 22 * u), fill=INK, width=width)

    # Mouths: from a deep frown to an open laugh.
    if value == 1:
        d.arc((28 * u, 62 * u, 72 * u, 96 * u), 200, 340, fill=INK, width=width)
    elif value == 2:
        d.arc((30 * u, 66 * u, 70 * u, 90 * u), 210, 330, fill=INK, width=width)
    elif value == 3:
        d.line((32 * u, 72 * u, 68 * u, 72 * u), fill=INK, width=width)
    elif value == 4:
        d.arc((28 * u, 46 * u, 72 * u, 78 * u), 25, 155, fill=INK, width=width)
    else:
        d.chord((26 * u, 46 * u, 74 * u, 86 * u), 0, 180, fill=INK)
        d.chord((38 * u, 70 * u, 62 * u, 84 * u), 0, 180, fill=(200, 60, 60, 255))
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


CALM = (128, 170, 214)


def calm() -> Image.Image:
    s = SIZE * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    u = s / 100
    width = round(5 * u)
    d.ellipse((3 * u, 3 * u, 97 * u, 97 * u), fill=(*CALM, 255), outline=INK, width=width)
    for cx in (34, 66):
        d.ellipse(((cx - 5) * u, 36 * u, (cx + 5) * u, 48 * u), fill=INK)
    # Concerned brows: the inner ends a little higher.
    d.line((24 * u, 28 * u, 42 * u, 24 * u), fill=INK, width=round(4 * u))
    d.line((58 * u, 24 * u, 76 * u, 28 * u), fill=INK, width=round(4 * u))
    # A small, closed, barely curved mouth: kind, not amused.
    d.arc((38 * u, 60 * u, 62 * u, 76 * u), 30, 150, fill=INK, width=width)
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for value in COLOURS:
        face(value).save(OUT / f"face{value}.png", optimize=True)
        print(OUT / f"face{value}.png")
    calm().save(OUT / "calm.png", optimize=True)
    print(OUT / "calm.png")


if __name__ == "__main__":
    main()
