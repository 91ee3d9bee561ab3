"""The crash campaign in small: 10 kill -9 of a tapping kiosk lose no acknowledged answer and corrupt nothing,
also while storage outages make it hold taps in memory and write them later.

The full 200-kill campaign is `tools/crash_campaign.py`; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "crash_campaign.py"


@pytest.mark.parametrize("outages", [False, True], ids=["disk-fine", "storage-outages"])
def test_ten_kills_lose_no_acknowledged_answer_and_leave_the_database_intact(
    tmp_path: Path, outages: bool
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--runs", "10", "--seed", "3", "--json", "--data-dir", str(tmp_path / "k")),
            *(["--outages"] if outages else []),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    figures = json.loads(result.stdout)
    assert figures["problems"] == []
    assert (figures["runs"], figures["lost"], figures["corrupt"], figures["stored_twice"]) == (10, 0, 0, 0)
    assert figures["acknowledged"] > 0
    # Every acknowledged answer is stored. Without outages, at most one per kill was stored without its
    # thank-you; with them, held answers written later are stored without one too (and held ones killed
    # before they were written are not stored: they were never acknowledged).
    extra = figures["stored"] - figures["acknowledged"]
    assert 0 <= extra <= (10 + figures["held_not_durable"] if outages else 10)
    assert (figures["held_not_durable"] > 0) == outages
    assert result.returncode == 0
