"""Every text of the configuration page and of the fleet's device table has its French (i18n.FR)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sync.central.web.i18n import FR

TEMPLATES = Path(__file__).resolve().parents[2] / "sync" / "central" / "templates"


@pytest.mark.parametrize("name", ["config.html", "_devices.html"])
def test_every_text_is_translated(name: str) -> None:
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    texts = set(re.findall(r"""_\((["'])(.+?)\1\)""", source))
    missing = sorted(text for _quote, text in texts if text not in FR)
    assert missing == []
