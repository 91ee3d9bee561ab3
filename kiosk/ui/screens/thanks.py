"""The thank-you screen. Usually it has nothing to tap: taps while it shows are ignored, and the root returns
to the start after the configured number of seconds. After a low score it apologises with a calm face and,
when the kiosk can make a follow-up link, shows its QR code (drawn here from segno's matrix, imported only
then so that start-up never pays for it); a tap ends that screen."""

from __future__ import annotations

from typing import Any

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.paths import asset_dir
from kiosk.ui.screens.base import KioskScreen

# Light modules around the code (the screen's pale background adds to it).
QR_BORDER = 2


def qr_texture(url: str) -> tuple[Texture, int]:
    """The QR code of `url` (error correction M) as a texture of one pixel per module, and its width in
    modules; drawn scaled by a whole factor with nearest-neighbour filtering, so the edges stay sharp."""
    import segno

    code = segno.make(url, error="m", boost_error=False, micro=False)
    rows = [bytes(row) for row in code.matrix_iter(scale=1, border=QR_BORDER)]
    size = len(rows)
    dark, light = b"\x00\x00\x00\xff", b"\xff\xff\xff\xff"
    # A texture's first row is the bottom one.
    pixels = b"".join(dark if module else light for row in reversed(rows) for module in row)
    texture = Texture.create(size=(size, size), colorfmt="rgba")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    texture.blit_buffer(pixels, colorfmt="rgba", bufferfmt="ubyte")
    return texture, size


class QrCode(Widget):
    """A square QR code as large as fits, a whole number of pixels per module."""

    texture = ObjectProperty(None, allownone=True)
    modules = NumericProperty(1)
    side = NumericProperty(0)

    def on_size(self, *_: Any) -> None:
        self._fit()

    def on_modules(self, *_: Any) -> None:
        self._fit()

    def _fit(self) -> None:
        modules = max(1, int(self.modules))
        self.side = int(min(self.width, self.height) // modules) * modules


class ThanksScreen(KioskScreen):
    apology = BooleanProperty(False)
    url = StringProperty("")
    qr = ObjectProperty(None, allownone=True)
    qr_modules = NumericProperty(1)

    def show(self, apology: bool, url: str | None) -> None:
        self.apology = apology
        if url and url != self.url:
            self.qr, self.qr_modules = qr_texture(url)
        elif not url:
            self.qr = None
        self.url = url or ""

    def face_source(self, apology: bool = False) -> str:
        return str(asset_dir() / "faces" / ("calm.png" if apology else "face5.png"))
