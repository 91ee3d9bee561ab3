"""Every screen drawn at 800x480 and 1920x1080 (and portrait 480x800), in French and English: none is blank.

The pictures go to a temporary directory; `python tests/ui/screenshots.py` writes the same set to
docs/screenshots for people to look at.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from kit import FOLLOWUP_SECRET, PUBLIC_URL, UiHarness, decode_qr, make_kiosk_dir, pair
from screenshots import SIZES, capture_all, capture_followup

from kiosk.domain.followup_token import verify_token


def test_every_screen_renders_at_every_size_in_both_languages(ui: UiHarness, tmp_path: Path) -> None:
    shots = capture_all(ui, tmp_path)
    assert len(shots) == 7 * 2 * len(SIZES)
    for path, spread in shots:
        assert path.stat().st_size > 2000, path
        assert spread > 20, (path, spread)


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
def test_the_follow_up_qr_code_reads_back_at_every_size_in_both_languages(
    window: object, tmp_path: Path
) -> None:
    data_dir = make_kiosk_dir(tmp_path / "kiosk")
    pair(data_dir)
    ui = UiHarness(data_dir)
    try:
        shots = capture_followup(ui, tmp_path)
    finally:
        ui.close()
    assert len(shots) == 2 * len(SIZES)
    for path in shots:
        language = path.name[:2]
        [url] = decode_qr(path)
        assert url.startswith(f"{PUBLIC_URL}/r/"), path
        # The token names the shopper's language (the phone page answers in it).
        assert (
            verify_token(url.rpartition("/")[2], FOLLOWUP_SECRET, dt.datetime.now(dt.UTC)).language
            == language
        )
