"""The shopper's flow on a real (offscreen) window: taps on faces and scale buttons store rows before the
screen changes, the reason screen appears only in range, idle reset, thank-you ignores taps, languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit import UiHarness, make_kiosk_dir, pixel_spread, pump, tap, texts

from kiosk.ui.presenters import THANKS


def test_start_screen_is_the_first_question_with_five_faces(ui: UiHarness) -> None:
    assert ui.current == "question-satisfaction"
    assert [t.value for t in ui.targets()] == ["1", "2", "3", "4", "5"]
    assert "Comment s'est passée votre visite aujourd'hui ?" in texts(ui.screen)


@pytest.mark.parametrize("value", ["1", "2", "3", "4", "5"])
def test_each_face_stores_its_value(ui: UiHarness, value: str) -> None:
    tap(ui.target(value))
    rows = ui.rows()
    assert [(r["question_id"], r["value"], r["language"]) for r in rows] == [("satisfaction", value, "fr")]
    expected = "question-reason" if value in ("1", "2") else "question-recommend"
    assert ui.current == expected


def test_every_nps_button_stores_its_value(ui: UiHarness) -> None:
    for value in range(11):
        tap(ui.target("4"))
        assert ui.current == "question-recommend"
        tap(ui.target(str(value)))
        assert ui.current == THANKS
        rows = ui.rows()
        assert (rows[-1]["question_id"], rows[-1]["value"]) == ("recommend", str(value))
        assert rows[-1]["session_id"] == rows[-2]["session_id"]
        ui.tick(3.0)
        assert ui.current == "question-satisfaction"
    assert len({r["session_id"] for r in ui.rows()}) == 11


def test_reason_screen_only_after_a_low_score_and_skip_records_nothing(ui: UiHarness) -> None:
    tap(ui.target("2"))
    assert ui.current == "question-reason"
    tap(ui.target("price"))
    assert ui.current == "question-recommend"
    assert [r["value"] for r in ui.rows()] == ["2", "price"]
    ui.tick(25)  # walk away
    tap(ui.target("1"))
    skip = next(w for w in ui.screen.walk() if getattr(w, "text", "") == "Passer")
    tap(skip)
    assert ui.current == "question-recommend"
    assert [r["question_id"] for r in ui.rows()] == ["satisfaction", "reason", "satisfaction"]


def test_idle_timeout_returns_to_start_and_keeps_answers(ui: UiHarness) -> None:
    tap(ui.target("5"))
    assert ui.current == "question-recommend"
    ui.tick(19.0)
    assert ui.current == "question-recommend"
    ui.tick(1.5)
    assert ui.current == "question-satisfaction"
    assert [r["value"] for r in ui.rows()] == ["5"]
    # The next shopper starts a new visit.
    tap(ui.target("3"))
    sessions = [r["session_id"] for r in ui.rows()]
    assert len(set(sessions)) == 2


def test_thank_you_ignores_taps_then_returns_to_start(ui: UiHarness) -> None:
    tap(ui.target("4"))
    buttons = ui.targets()  # the 0-10 buttons, gone once "thank you" shows
    tap(ui.target("9"))
    assert ui.current == THANKS
    stored = len(ui.rows())
    for button in buttons:
        tap(button)  # where the buttons were: nothing there now
    ui.root.answer("10")  # even a stray call while thanking is ignored
    assert len(ui.rows()) == stored
    ui.tick(2.9)
    assert ui.current == THANKS
    ui.tick(0.2)
    assert ui.current == "question-satisfaction"


def test_language_switch_changes_the_drawn_texts_and_the_stored_language(ui: UiHarness) -> None:
    before = texts(ui.screen)
    assert "Très content" in before
    english = next(w for w in ui.screen.walk() if getattr(w, "text", "") == "English")
    tap(english)
    after = texts(ui.screen)
    assert "How was your visit today?" in after
    assert "Very happy" in after
    assert "Très content" not in after
    tap(ui.target("1"))
    assert "What went wrong?" in texts(ui.screen)
    assert "Skip" in texts(ui.screen)
    tap(ui.target("waiting"))
    assert {r["language"] for r in ui.rows()} == {"en"}
    # No language switch once the visit has started.
    assert not any(getattr(w, "text", "") == "Français" for w in ui.screen.walk())
    ui.tick(25)
    assert "Comment s'est passée votre visite aujourd'hui ?" in texts(ui.screen)


def test_a_failing_store_is_logged_and_the_screen_resets(
    ui: UiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    tap(ui.target("5"))
    assert ui.current == "question-recommend"

    def broken(_new: object) -> object:
        raise OSError("disk unplugged")

    ui.root.flow.record = broken
    tap(ui.target("7"))
    assert ui.current == "question-satisfaction"
    assert "disk unplugged" in caplog.text
    assert [r["value"] for r in ui.rows()] == ["5"]


def test_touch_targets_are_at_least_9_mm(ui: UiHarness) -> None:
    from kiosk.ui import theme

    for size in ((800, 480), (480, 800)):
        ui.resize(size)
        for value in ("4", "1"):
            if value == "1":
                tap(ui.target("1"))  # reason chips
            for target in ui.targets():
                assert min(target.size) >= theme.MIN_TARGET_PX * 0.99, (size, ui.current, target.size)
            if value == "4":
                tap(ui.target("4"))
                for target in ui.targets():  # 0-10
                    assert min(target.size) >= theme.MIN_TARGET_PX * 0.99, (size, ui.current, target.size)
                ui.tick(25)
        ui.tick(25)


def test_portrait_stacks_the_faces_with_their_captions_on_one_line(ui: UiHarness) -> None:
    ui.resize((480, 800))
    faces = ui.targets()
    assert len({round(f.center_x) for f in faces}) == 1  # one column
    assert [round(f.y) for f in faces] == sorted((round(f.y) for f in faces), reverse=True)  # worst on top
    for face in faces:
        image, caption = face.children[1], face.children[0]
        caption.texture_update()
        assert image.height >= 64, image.size  # faces stay big in a column
        assert caption.texture_size[1] < 2 * caption.font_size, caption.text  # no word broken over lines
    tap(faces[4])
    assert ui.rows()[-1]["value"] == "5"


LONG_NAME = "Épicerie fine du Marché Saint-Germain-des-Prés 24"


@pytest.mark.parametrize("size", [(480, 800), (800, 480), (1920, 1080)])
def test_a_long_store_name_wraps_between_words_and_fits_the_header(
    window: object, tmp_path: Path, size: tuple[int, int]
) -> None:
    harness = UiHarness(make_kiosk_dir(tmp_path / "kiosk", pin="2468", name=LONG_NAME), size=size)
    try:
        harness.resize(size)
        for screen in ("start", "next"):
            name = next(w for w in harness.screen.walk() if getattr(w, "text", None) == LONG_NAME)
            pump(2)
            lines = ["".join(word.text for word in line.words).strip() for line in name._label._cached_lines]
            assert " ".join(lines).split() == LONG_NAME.split(), lines  # no word broken across lines
            assert name.texture_size[0] <= name.width + 1 and name.texture_size[1] <= name.height + 1
            assert name.font_size >= 10
            image = harness.render(tmp_path / f"{screen}-{size[0]}x{size[1]}.png")
            assert pixel_spread(image) > 20
            if screen == "start":
                tap(harness.target("4"))  # the next screen has no language switch: the whole width
    finally:
        harness.close()
