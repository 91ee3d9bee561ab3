"""What the manager dashboard says about storage: held answers, refused taps, damaged files kept aside."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kiosk.ui.i18n import Translator
from kiosk.ui.presenters import StorageState, storage_lines

PARIS = ZoneInfo("Europe/Paris")


def test_all_well_says_nothing() -> None:
    assert storage_lines(StorageState(), PARIS, "en", Translator(["en"])) == ()


def test_held_refused_and_kept_aside_are_each_one_line_in_the_managers_language() -> None:
    state = StorageState(
        held=120,
        refused=3,
        problem="kiosk.db: cannot write: database or disk is full",
        set_aside=(
            (
                "kiosk.db.damaged-20261124T081500Z",
                "truncated",
                dt.datetime(2026, 11, 24, 8, 15, tzinfo=dt.UTC),
            ),
        ),
    )
    english = storage_lines(state, PARIS, "en", Translator(["en"]))
    assert english == (
        "STORAGE PROBLEM: 120 answers held in memory, not saved yet (kiosk.db: cannot write: database or disk is full)",
        "3 taps NOT kept: the memory for held answers was full",
        "Damaged database kept aside as kiosk.db.damaged-20261124T081500Z on 11/24/26, 9:15\u202fAM (truncated); "
        "a fresh one was started",
    )
    french = storage_lines(state, PARIS, "fr", Translator(["fr"]))
    assert french[0].startswith("PROBLÈME DE STOCKAGE : 120 réponses gardées en mémoire")
    assert "NON gardées" in french[1] and "le 24/11/2026 09:15" in french[2]
