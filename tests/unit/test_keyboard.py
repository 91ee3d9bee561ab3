"""The on-screen keyboard's logic (no Kivy): layouts per language, the accent layer, capitals, the limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.limits import MAX_TEXT
from kiosk.domain.survey import clean_text
from kiosk.ui.keyboard import ACTIONS, BACKSPACE, LAYER, SHIFT, SPACE, TextEntry


def letters(entry: TextEntry) -> list[str]:
    return [k.label for k in entry.rows()[0]]


def test_french_is_azerty_english_qwerty_other_languages_qwerty() -> None:
    assert "".join(letters(TextEntry("fr"))).startswith("azerty")
    assert "".join(letters(TextEntry("en"))).startswith("qwerty")
    assert "".join(letters(TextEntry("de"))).startswith("qwerty")


def test_every_row_is_ten_key_widths_and_accents_are_one_tap_away() -> None:
    entry = TextEntry("fr")
    for layer in (False, True):
        entry.accents = layer
        assert all(sum(k.width for k in row) == 10 for row in entry.rows())
    entry.accents = False
    entry.press(LAYER)
    shown = {k.value for row in entry.rows() for k in row}
    assert set("éèêàçù") <= shown


def test_shift_makes_one_capital_and_backspace_erases() -> None:
    entry = TextEntry("fr")
    for key in (SHIFT, "é", "t", "é", SPACE, SPACE, BACKSPACE, BACKSPACE, "a"):
        entry.press(key)
    assert entry.text == "Éta"  # the second space was never typed


@given(st.lists(st.sampled_from([*ACTIONS, "a", "é", "1", "'"]), max_size=400))
def test_what_the_field_shows_is_what_is_stored(keys: list[str]) -> None:
    entry = TextEntry("fr")
    for key in keys:
        entry.press(key)
    assert len(entry.text) <= MAX_TEXT
    assert clean_text(entry.text) == entry.text.rstrip(" ")
