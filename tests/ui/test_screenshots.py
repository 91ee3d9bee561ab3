"""Every screen drawn at 800x480 and 1920x1080 (and portrait 480x800), in French and English: none is blank.

The pictures go to a temporary directory; `python tests/ui/screenshots.py` writes the same set to
docs/screenshots for people to look at.
"""

from __future__ import annotations

from pathlib import Path

from kit import UiHarness
from screenshots import SIZES, capture_all


def test_every_screen_renders_at_every_size_in_both_languages(ui: UiHarness, tmp_path: Path) -> None:
    shots = capture_all(ui, tmp_path)
    assert len(shots) == 7 * 2 * len(SIZES)
    for path, spread in shots:
        assert path.stat().st_size > 2000, path
        assert spread > 20, (path, spread)
