"""What the benchmarks share: where they work (bench/out/, git-ignored, on the repository's disk) and how
they create a kiosk (the default survey: satisfaction, reason, recommend; Europe/Paris)."""

from __future__ import annotations

from pathlib import Path

from kiosk.bootstrap import Kiosk, open_kiosk
from kiosk.config import default_config_text

OUT = Path(__file__).resolve().parent / "out"
TIMEZONE = "Europe/Paris"


def create_kiosk(directory: Path) -> Kiosk:
    """Write the default kiosk.toml in `directory` (created if needed) and open the kiosk there."""
    directory.mkdir(parents=True, exist_ok=True)
    text = default_config_text("bench", "till-1", TIMEZONE, "Bench store")
    (directory / "kiosk.toml").write_text(text, encoding="utf-8")
    return open_kiosk(directory)
