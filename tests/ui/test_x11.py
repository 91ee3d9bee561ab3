"""`kiosk run --windowed` under a real X server (xvfb-run): a mouse click at the centre of a face records
that face. This exercises the whole program: the CLI, Kivy's configuration, the SDL window, mouse input."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.x11,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("xvfb-run") is None or shutil.which("xdotool") is None,
        reason="needs xvfb-run and xdotool (apt: xvfb xauth xdotool; .ci/setup installs them)",
    ),
]


def test_a_click_on_the_middle_face_records_it(kiosk_dir: Path) -> None:
    helper = Path(__file__).with_name("x11_click.py")
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, str(helper), str(kiosk_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite3.connect(kiosk_dir / "kiosk.db")
    rows = db.execute("SELECT question_id, value FROM answers").fetchall()
    db.close()
    assert rows == [("satisfaction", "3")]


def test_no_display_is_a_one_line_error(kiosk_dir: Path, tmp_path: Path) -> None:
    kiosk = Path(sys.executable).with_name("kiosk")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SDL_VIDEODRIVER": "x11", "DISPLAY": ":99"}
    result = subprocess.run(
        [str(kiosk), "run", "--data-dir", str(kiosk_dir)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.startswith("kiosk: cannot open a display")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_config_is_a_one_line_error(kiosk_dir: Path, tmp_path: Path) -> None:
    (kiosk_dir / "kiosk.toml").write_text(
        (kiosk_dir / "kiosk.toml").read_text().replace("thank_you_seconds = 3", "thank_you_seconds = 0")
    )
    kiosk = Path(sys.executable).with_name("kiosk")
    result = subprocess.run(
        [str(kiosk), "run", "--data-dir", str(kiosk_dir)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "display.thank_you_seconds: must be a number from 1 to 30" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
