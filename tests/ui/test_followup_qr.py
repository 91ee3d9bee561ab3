"""The thank-you screen after a low score: the apology with a calm face and, on a paired kiosk holding its
follow-up key, a QR code that a phone reads as the visit's follow-up link (decoded from the drawn screen
with zbarimg, its token checked with the key)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kit import (
    FOLLOWUP_SECRET,
    PAIRED_URL,
    PUBLIC_URL,
    UiHarness,
    decode_qr,
    make_kiosk_dir,
    pair,
    pump,
    tap,
    tap_at,
    texts,
)

from kiosk.domain.followup_token import verify_token
from kiosk.ui.presenters import THANKS

SECRET = FOLLOWUP_SECRET
START = "question-satisfaction"
APOLOGY = "Désolés de l'apprendre — merci de nous l'avoir dit"
TELL_US = "Dites-nous-en plus, ou demandez-nous de vous recontacter"

needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")


@pytest.fixture
def make_ui(window: object, tmp_path: Path) -> Iterator[object]:
    made: list[UiHarness] = []

    def make(
        display: str = "", followup: str = "", size: tuple[int, int] = (800, 480), **how: object
    ) -> UiHarness:
        data_dir = make_kiosk_dir(tmp_path / f"kiosk{len(made)}", display=display)
        if followup:  # one `key = value` of [followup], in place of the template's line for it
            config = data_dir / "kiosk.toml"
            text = config.read_text(encoding="utf-8")
            name = followup.split("=")[0].strip()
            text = re.sub(rf"(?m)^{name} = .*$", "", text).replace(
                "[followup]\n", f"[followup]\n{followup}\n", 1
            )
            config.write_text(text, encoding="utf-8")
        if how.pop("paired", True):
            pair(data_dir, **how)  # type: ignore[arg-type]
        ui = UiHarness(data_dir, size=size)
        made.append(ui)
        return ui

    yield make
    for ui in made:
        ui.close()


def visit(ui: UiHarness, face: str) -> None:
    tap(ui.target(face))
    if face in ("1", "2"):
        tap(ui.target("waiting"))
    tap(ui.target("8"))
    assert ui.current == THANKS


def face_shown(ui: UiHarness) -> str:
    from kivy.uix.image import Image

    return next(Path(w.source).name for w in ui.screen.walk() if isinstance(w, Image) and w.source)


@needs_zbar
@pytest.mark.parametrize("public_url", [PUBLIC_URL, None])
def test_a_low_score_on_a_paired_kiosk_shows_a_qr_code_of_the_visits_link(
    make_ui: object, tmp_path: Path, public_url: str | None
) -> None:
    ui = make_ui(public_url=public_url)  # type: ignore[operator]
    visit(ui, "1")
    assert APOLOGY in texts(ui.screen) and TELL_US in texts(ui.screen)
    assert face_shown(ui) == "calm.png"
    ui.render(tmp_path / "qr.png")
    found = decode_qr(tmp_path / "qr.png")
    assert len(found) == 1
    base, _, token = found[0].rpartition("/r/")
    assert base == (public_url or PAIRED_URL)
    claims = verify_token(token, SECRET, dt.datetime.now(dt.UTC))
    assert claims.session_id == ui.rows()[0]["session_id"]
    assert claims.language == "fr"
    # Large enough to scan from a metre: at least 9 screen pixels per module at 800x480.
    qr = ui.screen.ids.qr
    assert qr.side / qr.modules >= 9


@needs_zbar
def test_a_good_score_gets_the_usual_thank_you(make_ui: object, tmp_path: Path) -> None:
    ui = make_ui()  # type: ignore[operator]
    visit(ui, "5")
    assert "Merci !" in texts(ui.screen) and APOLOGY not in texts(ui.screen)
    assert face_shown(ui) == "face5.png"
    ui.render(tmp_path / "thanks.png")
    assert decode_qr(tmp_path / "thanks.png") == []
    ui.tick(3.1)
    assert ui.current == START


@needs_zbar
@pytest.mark.parametrize("how", [{"paired": False}, {"key": False}], ids=["unpaired", "paired-without-key"])
def test_a_low_score_without_a_follow_up_key_gets_the_apology_without_a_qr_code(
    make_ui: object, tmp_path: Path, how: dict[str, bool]
) -> None:
    ui = make_ui(**how)  # type: ignore[operator]
    visit(ui, "2")
    assert APOLOGY in texts(ui.screen) and TELL_US not in texts(ui.screen)
    assert face_shown(ui) == "calm.png"
    ui.render(tmp_path / "apology.png")
    assert decode_qr(tmp_path / "apology.png") == []
    ui.tick(3.1)  # the usual thank-you time: nothing to scan, nothing to wait for
    assert ui.current == START


def test_a_low_nps_alone_shows_the_qr_code(make_ui: object) -> None:
    ui = make_ui()  # type: ignore[operator]
    tap(ui.target("4"))
    tap(ui.target("6"))
    assert ui.current == THANKS
    assert ui.screen.qr is not None


def test_the_qr_code_stays_qr_seconds_then_the_start_screen_returns(make_ui: object) -> None:
    ui = make_ui(followup="qr_seconds = 20")  # type: ignore[operator]
    visit(ui, "1")
    ui.tick(19.5)
    assert ui.current == THANKS
    assert ui.screen.qr is not None
    ui.tick(0.6)
    assert ui.current == START
    # The next visit is a new one, with the usual thank-you after a good score.
    visit(ui, "4")
    assert ui.screen.qr is None and "Merci !" in texts(ui.screen)


def test_the_default_qr_time_is_15_seconds(make_ui: object) -> None:
    ui = make_ui()  # type: ignore[operator]
    visit(ui, "1")
    ui.tick(14.8)
    assert ui.current == THANKS
    ui.tick(0.3)
    assert ui.current == START


def test_a_tap_ends_the_qr_code_and_answers_nothing(make_ui: object) -> None:
    ui = make_ui()  # type: ignore[operator]
    visit(ui, "1")
    stored = len(ui.rows())
    tap_at(400, 200)  # the shopper's own last tap bouncing: ignored
    assert ui.current == THANKS
    ui.tick(2)
    tap_at(400, 200)  # where a face of the start screen is: the tap ends the QR code, and only that
    assert ui.current == START
    assert len(ui.rows()) == stored


def test_followup_disabled_gives_the_usual_thank_you_after_a_low_score(make_ui: object) -> None:
    ui = make_ui(followup="enabled = false")  # type: ignore[operator]
    visit(ui, "1")
    assert "Merci !" in texts(ui.screen) and APOLOGY not in texts(ui.screen)
    assert ui.screen.qr is None


def test_a_configured_rule_makes_only_face_1_low(make_ui: object) -> None:
    ui = make_ui(followup="low_at_most = { satisfaction = 1, recommend = -1 }")  # type: ignore[operator]
    visit(ui, "2")
    assert ui.screen.qr is None and APOLOGY not in texts(ui.screen)
    ui.tick(3.1)
    visit(ui, "1")
    assert ui.screen.qr is not None


def test_english_texts(make_ui: object) -> None:
    ui = make_ui()  # type: ignore[operator]
    ui.root.set_language("en")
    pump(2)
    visit(ui, "1")
    assert "Sorry to hear that — thank you for telling us" in texts(ui.screen)
    assert "Tell us more, or ask us to get back to you" in texts(ui.screen)
