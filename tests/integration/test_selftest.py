"""`kiosk selftest` from the venv, as a separate process (it opens Kivy's one window): it passes on a working
installation, writes its screenshot, and fails in one line without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KIOSK = Path(sys.executable).with_name("kiosk")


def selftest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_HOME", "DISPLAY", "WAYLAND_DISPLAY")}
    env["HOME"] = str(tmp_path / "home")  # nothing may be written in the real home
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [str(KIOSK), "selftest", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_selftest_taps_stores_scores_and_writes_a_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    result = selftest(tmp_path, "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tapped face 1 of 'satisfaction'") and "stored" in lines[0]
    assert "scored (1 response today)" in lines[0]
    assert f"screenshot: {shot}" in lines
    assert lines[-1].startswith("selftest passed (kiosk 0.1.0")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
    assert not (tmp_path / "home").exists()
    assert list((tmp_path / "tmp").iterdir()) == []  # the throwaway kiosk is gone


def test_selftest_keeps_its_kiosk_when_asked(tmp_path: Path) -> None:
    result = selftest(tmp_path, "--keep")
    assert result.returncode == 0, result.stderr
    kept = next(line for line in result.stdout.splitlines() if line.startswith("data directory kept: "))
    data_dir = Path(kept.removeprefix("data directory kept: "))
    assert (data_dir / "kiosk.toml").is_file() and (data_dir / "kiosk.db").is_file()
    assert (data_dir.parent / "selftest.png").is_file() and data_dir.is_relative_to(tmp_path / "tmp")


def test_selftest_fails_in_one_line_when_the_screenshot_cannot_be_written(tmp_path: Path) -> None:
    result = selftest(tmp_path, "--screenshot", str(tmp_path / "missing" / "shot.png"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"kiosk: selftest failed: cannot write the screenshot: {tmp_path / 'missing'} is not a directory"
    ]


def test_selftest_has_help(tmp_path: Path) -> None:
    result = selftest(tmp_path, "--help")
    assert result.returncode == 0 and "--screenshot" in result.stdout and "$KIOSK_HOME" in result.stdout
