"""The crash campaign in small: 10 kill -9 of a tapping kiosk lose no acknowledged answer and corrupt nothing.

The full 200-kill campaign is `tools/crash_campaign.py`; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "crash_campaign.py"


def test_ten_kills_lose_no_acknowledged_answer_and_leave_the_database_intact(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--runs",
            "10",
            "--seed",
            "3",
            "--json",
            "--data-dir",
            str(tmp_path / "k"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    figures = json.loads(result.stdout)
    assert figures["problems"] == []
    assert (figures["runs"], figures["lost"], figures["corrupt"]) == (10, 0, 0)
    assert figures["acknowledged"] > 0
    # Every acknowledged answer is stored; at most one per kill was stored without its thank-you shown.
    assert 0 <= figures["stored"] - figures["acknowledged"] <= 10
    assert result.returncode == 0
