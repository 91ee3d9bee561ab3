"""A comment typed at the kiosk: the keyboard of the visit's language, typed on by touch (letters, a capital,
an accent, backspace, space), stored as typed; big keys; the inactivity timeout still runs; built only when
shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit import UiHarness, make_kiosk_dir, pump, tap, texts
from screenshots import COMMENT_QUESTION as COMMENT
from screenshots import SIZES, capture_comment


def with_comment(path: Path) -> Path:
    data_dir = make_kiosk_dir(path, pin="2468")
    with (data_dir / "kiosk.toml").open("a", encoding="utf-8") as file:
        file.write(COMMENT)
    return data_dir


@pytest.fixture
def ui(window: object, tmp_path: Path) -> Iterator[UiHarness]:
    harness = UiHarness(with_comment(tmp_path / "kiosk"))
    try:
        yield harness
    finally:
        harness.close()


def to_comment(ui: UiHarness, language: str = "fr") -> None:
    ui.root.set_language(language)
    pump(2)
    tap(ui.target("4"))
    tap(ui.target("9"))
    assert ui.current == "question-comment"


def key_rows(ui: UiHarness) -> list[list[Any]]:
    return [list(reversed(row.children)) for row in reversed(ui.screen.ids.keyboard.children)]


def key(ui: UiHarness, value: str) -> Any:
    return next(k for row in key_rows(ui) for k in row if k.value == value)


def type_keys(ui: UiHarness, *values: str) -> None:
    for value in values:
        tap(key(ui, value))


def test_typed_by_touch_the_stored_answer_is_what_was_typed(ui: UiHarness) -> None:
    to_comment(ui)
    type_keys(ui, "shift", "t", "r", "layer", "è", "layer", "s", "space", "b", "o", "n", "n", "backspace")
    assert ui.screen.entry.text == "Très bon"
    assert "8 / 160" in texts(ui.screen)
    tap(ui.screen.ids.send)
    assert ui.current == "thanks"
    stored = {row["question_id"]: row["value"] for row in ui.rows()}
    assert stored == {"satisfaction": "4", "recommend": "9", "comment": "Très bon"}


def test_french_shows_azerty_and_english_qwerty(ui: UiHarness) -> None:
    to_comment(ui, "fr")
    assert [k.text for k in key_rows(ui)[0][:6]] == list("azerty")
    assert ui.screen.ids.send.text == "Envoyer" and ui.screen.ids.skip.text == "Passer"
    ui.tick(30)
    to_comment(ui, "en")
    assert [k.text for k in key_rows(ui)[0][:6]] == list("qwerty")
    assert ui.screen.ids.send.text == "Send" and ui.screen.ids.skip.text == "Skip"


def test_every_key_is_big_enough_for_a_finger_at_800x480(ui: UiHarness) -> None:
    to_comment(ui)
    for layer in (False, True):
        if layer:
            tap(key(ui, "layer"))
        for row in key_rows(ui):
            for button in row:
                assert button.width >= 48 and button.height >= 48, (button.value, button.size)
    for button in (ui.screen.ids.send, ui.screen.ids.skip):
        assert button.height >= 48


def test_typing_keeps_the_visit_alive_and_walking_away_ends_it(ui: UiHarness) -> None:
    to_comment(ui)
    ui.tick(15)
    type_keys(ui, "o")
    ui.tick(15)
    assert ui.current == "question-comment"
    ui.tick(6)
    assert ui.current == "question-satisfaction"
    assert "comment" not in {row["question_id"] for row in ui.rows()}


def test_skip_and_an_empty_send_store_no_comment(ui: UiHarness) -> None:
    to_comment(ui)
    tap(ui.screen.ids.skip)
    assert ui.current == "thanks"
    ui.tick(5)
    to_comment(ui)
    type_keys(ui, "space")
    tap(ui.screen.ids.send)
    assert ui.current == "thanks"
    assert "comment" not in {row["question_id"] for row in ui.rows()}


def test_the_keyboard_is_built_only_when_a_comment_is_asked_for(ui: UiHarness) -> None:
    ui.root.prepare()
    assert "comment" not in ui.root.question_screens
    to_comment(ui)
    assert "comment" in ui.root.question_screens


def test_the_field_stops_at_the_limit(ui: UiHarness) -> None:
    to_comment(ui)
    ui.screen.entry.text = "x" * 159
    type_keys(ui, "a", "b")
    assert ui.screen.entry.text == "x" * 159 + "a"
    assert "160 / 160" in texts(ui.screen)


def test_the_comment_screen_renders_at_every_size_in_both_languages(ui: UiHarness, tmp_path: Path) -> None:
    shots = capture_comment(ui, tmp_path)
    assert len(shots) == 2 * len(SIZES)
    for path, spread in shots:
        assert path.stat().st_size > 2000, path
        assert spread > 20, (path, spread)
