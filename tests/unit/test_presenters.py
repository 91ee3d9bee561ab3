"""The presenters without Kivy: the visit, the PIN pad, the palette's contrast, the [display] table, the PIN
file and `kiosk set-pin`."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import ConfigError, default_config_text, load_config, parse_config
from kiosk.pin import PinError, load_pin, save_pin
from kiosk.storage import NewAnswer
from kiosk.ui import theme
from kiosk.ui.presenters import THANKS, PinOutcome, PinPad, SurveyFlow

AT = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def config() -> object:
    data = tomllib.loads(default_config_text("s", "d", "Europe/Paris", "Store"))
    parsed, problems = parse_config(data)
    assert not problems
    return parsed


def flow() -> tuple[SurveyFlow, list[NewAnswer]]:
    recorded: list[NewAnswer] = []
    cfg = config()
    return SurveyFlow(cfg.survey, recorded.append, cfg.display), recorded  # type: ignore[attr-defined]


def test_presenters_and_the_cli_do_not_import_kivy() -> None:
    code = (
        "import sys, kiosk.cli, kiosk.ui.presenters, kiosk.ui.compose, kiosk.ui.theme\n"
        "assert not [m for m in sys.modules if m.startswith('kivy')]"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_visit_follows_show_if_and_records_one_session_and_language() -> None:
    f, rec = flow()
    assert f.set_language("en", 0)
    assert f.answer(2, AT, 1)
    assert f.screen_name == "question-reason"
    assert not f.set_language("fr", 2)  # not once the visit started
    assert f.answer("price", AT, 2)
    assert f.answer(9, AT, 3)
    assert f.screen_name == THANKS
    assert {a.session_id for a in rec} == {rec[0].session_id}
    assert {a.language for a in rec} == {"en"}
    assert not f.answer(10, AT, 3.5)  # thank-you ignores taps
    assert len(rec) == 3
    assert not f.tick(5.9)
    assert f.tick(6.0)
    assert f.at_start and f.language == "fr"


def test_high_score_skips_the_reason_and_idle_resets() -> None:
    f, rec = flow()
    f.answer(4, AT, 0)
    assert f.screen_name == "question-recommend"
    assert not f.tick(19.9)
    assert f.tick(20.0)
    assert f.at_start and len(rec) == 1
    assert not f.tick(100)  # nothing to reset at the start


def test_a_failed_record_leaves_the_visit_unchanged() -> None:
    cfg = config()

    def broken(_new: NewAnswer) -> object:
        raise OSError("disk full")

    f = SurveyFlow(cfg.survey, broken, cfg.display)  # type: ignore[attr-defined]
    with pytest.raises(OSError):
        f.answer(5, AT, 0)
    assert f.at_start and f.answers == {}


def test_pin_pad_success_failure_and_lockout() -> None:
    pad = PinPad(lambda pin: pin == "2468")
    for outcome in [PinOutcome.WRONG] * 4 + [PinOutcome.LOCKED]:
        for d in "1111":
            pad.press(d, 0)
        assert pad.submit(0) is outcome
    for d in "2468":
        pad.press(d, 10)
    assert pad.entered == ""  # keys ignored while locked
    assert pad.submit(10) is PinOutcome.LOCKED
    assert "50 s" in pad.message(None, 10, "en", lambda _l, m: m)
    for d in "2468":
        pad.press(d, 60)
    assert pad.submit(60) is PinOutcome.ACCEPTED
    assert PinPad(None).submit(0) is PinOutcome.NO_PIN


def test_every_text_colour_pair_reads_at_4_5_to_1() -> None:
    pairs = [(theme.TEXT, theme.BACKGROUND), (theme.MUTED_TEXT, theme.BACKGROUND), (theme.TEXT, theme.BUTTON)]
    pairs += [
        (theme.text_on(c), c) for c in (theme.DETRACTOR, theme.PASSIVE, theme.PROMOTER, theme.NEUTRAL_SCALE)
    ]
    pairs += [(theme.text_on(c), c) for c in ("#1F5FAF", "#FFD400", "#000000", "#FFFFFF", "#E30613")]
    for text, background in pairs:
        assert theme.contrast_ratio(text, background) >= 4.5, (text, background)


def test_display_table_defaults_and_errors(tmp_path: Path) -> None:
    cfg = config()
    assert cfg.display.thank_you_seconds == 3 and cfg.display.idle_timeout_seconds == 20  # type: ignore[attr-defined]
    path = tmp_path / "kiosk.toml"
    text = default_config_text("s", "d", "Europe/Paris", "Store")
    path.write_text(
        text.replace('accent_colour = "#1F5FAF"', 'accent_colour = "blue"\ncolour = 1').replace(
            "idle_timeout_seconds = 20", "idle_timeout_seconds = 2"
        )
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    problems = "\n".join(error.value.problems)
    assert "display.accent_colour: must be a colour" in problems
    assert "display.colour: unknown key" in problems
    assert "display.idle_timeout_seconds: must be a number from 5 to 600" in problems
    path.write_text(text.replace('# logo = "logo.png"', 'logo = "logo.png"'))
    assert load_config(path).display.logo == "logo.png"


def test_pin_file_is_hashed_and_private(tmp_path: Path) -> None:
    path = save_pin(tmp_path, "1234")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "1234" not in path.read_text()
    stored = load_pin(tmp_path)
    assert stored is not None and stored.matches("1234") and not stored.matches("1235")
    with pytest.raises(PinError):
        save_pin(tmp_path, "12a4")
    path.write_text("{}")
    with pytest.raises(PinError):
        load_pin(tmp_path)


def test_set_pin_command(tmp_path: Path) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["init", "--data-dir", str(tmp_path), "--store-id", "s", "--device-id", "d"]
        ).exit_code
        == 0
    )
    result = runner.invoke(main, ["set-pin", "--data-dir", str(tmp_path)], input="2468\n2468\n")
    assert result.exit_code == 0, result.output
    assert load_pin(tmp_path).matches("2468")  # type: ignore[union-attr]
    result = runner.invoke(main, ["set-pin", "--data-dir", str(tmp_path)], input="12\n12\n")
    assert result.exit_code == 2 and "4 to 8 digits" in result.output
    result = runner.invoke(main, ["set-pin", "--data-dir", str(tmp_path / "none")], input="1234\n1234\n")
    assert result.exit_code == 2
