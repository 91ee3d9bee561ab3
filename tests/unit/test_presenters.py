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
from kiosk.pin import (
    Lockout,
    PinError,
    PinState,
    load_lockout,
    load_pin,
    read_pin_state,
    save_lockout,
    save_pin,
)
from kiosk.storage import NewAnswer
from kiosk.ui import theme
from kiosk.ui.presenters import THANKS, PinOutcome, PinPad, SurveyFlow, scale_ends, targets

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


def test_presenters_import_no_storage_module() -> None:
    code = (
        "import sys, kiosk.ui.presenters\n"
        "assert not [m for m in sys.modules if m in ('kiosk.storage', 'kiosk.holding', 'sqlite3', 'sqlite_utils')]"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_presenters_and_the_cli_do_not_import_kivy() -> None:
    code = (
        "import sys, kiosk.cli, kiosk.ui.presenters, kiosk.bootstrap, kiosk.ui.theme\n"
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


def test_pin_pad_success_failure_and_growing_lockout() -> None:
    saved: list[tuple[int, float]] = []
    pad = PinPad(lambda pin: pin == "2468", saved=lambda n, until: saved.append((n, until)))
    for outcome in [PinOutcome.WRONG] * 4 + [PinOutcome.LOCKED]:
        for d in "1111":
            pad.press(d, 0)
        assert pad.submit(0) is outcome
    assert saved[-1] == (5, 60.0)
    for d in "2468":
        pad.press(d, 10)
    assert pad.entered == ""  # keys ignored while locked
    assert pad.submit(10) is PinOutcome.LOCKED
    assert "50 s" in pad.message(None, 10, "en", lambda _l, m: m)
    for d in "1111":
        pad.press(d, 60)
    assert pad.submit(60) is PinOutcome.LOCKED  # the sixth wrong PIN: twice as long
    assert pad.locked_for(60) == 120 and saved[-1] == (6, 180.0)
    for d in "2468":
        pad.press(d, 180)
    assert pad.submit(180) is PinOutcome.ACCEPTED and saved[-1] == (0, 0.0)
    assert PinPad(None).submit(0) is PinOutcome.NO_PIN


def test_a_clock_set_back_never_lengthens_the_lockout() -> None:
    pad = PinPad(lambda pin: False, failures=5, locked_until=1_000_000.0)
    assert pad.locked_for(0.0) == 60.0


@pytest.mark.parametrize("content", ["", "garbage{", '{"scheme": "scrypt"}'])
def test_an_unreadable_pin_file_is_a_state_not_a_crash(tmp_path: Path, content: str) -> None:
    (tmp_path / "manager-pin.json").write_text(content)
    state = read_pin_state(tmp_path)
    assert state.verify is None and state.problem is not None
    pad = PinPad(state.verify, problem=state.problem)
    assert "set the PIN again with `kiosk set-pin`" in pad.message(None, 0, "en", lambda _l, m: m)
    assert read_pin_state(tmp_path / "missing") == PinState(None)


def test_the_lockout_file_survives_and_set_pin_clears_it(tmp_path: Path) -> None:
    save_lockout(tmp_path, Lockout(6, 1234.5))
    assert load_lockout(tmp_path) == Lockout(6, 1234.5)
    (tmp_path / "manager-pin-lockout.json").write_text("{broken")
    assert load_lockout(tmp_path).failures == 4  # spoiling the file gives no more guesses
    save_lockout(tmp_path, Lockout(5, 99.0))
    save_pin(tmp_path, "2468")
    assert load_lockout(tmp_path) == Lockout()


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


def test_the_0_to_10_scale_is_neutral_unless_zones_are_asked_for() -> None:
    cfg = config()
    nps = cfg.survey.question("recommend")  # type: ignore[attr-defined]
    neutral = targets(nps, "en", lambda _l, m: m)
    assert len(neutral) == 11 and len({t.background for t in neutral}) == 1
    zoned = targets(nps, "en", lambda _l, m: m, zones=True)
    assert len({t.background for t in zoned}) == 3
    assert scale_ends(nps, "en", lambda _l, m: m) == ("Not at all likely", "Extremely likely")
