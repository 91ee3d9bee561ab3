"""The manager's side: the hidden corner, the PIN pad (success, failure, lockout), the dashboard's figures
against `kiosk scores --json` for the same database, CSV export, idle back to the shopper flow."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from kit import UiHarness, pump, tap, texts

from kiosk.cli import main
from kiosk.ui.root import DASHBOARD, PIN


def press_pin(ui: UiHarness, pin: str) -> None:
    keys = {w.value: w for w in ui.screen.ids.keypad.children}
    for digit in pin:
        tap(keys[digit])
    tap(keys["ok"])


def test_long_press_in_the_corner_opens_the_pin_pad_and_a_tap_does_not(ui: UiHarness) -> None:
    from kivy.tests.common import UnitTestTouch

    ui.root.corner.hold_seconds = 0.05
    x, y = ui.root.corner.center
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    pump(2)
    time.sleep(0.1)
    pump(2)
    assert ui.current == "question-satisfaction"
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    pump(1)
    time.sleep(0.1)
    pump(2)
    touch.touch_up()
    pump(1)
    assert ui.current == PIN
    assert ui.rows() == []


def test_right_pin_opens_the_dashboard(ui: UiHarness) -> None:
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    assert ui.current == DASHBOARD


def test_wrong_pins_lock_the_pad_for_60_seconds(ui: UiHarness) -> None:
    ui.root.open_pin()
    pump()
    press_pin(ui, "1111")
    assert ui.current == PIN
    assert "4" in ui.screen.message
    for _ in range(4):
        press_pin(ui, "1111")
    assert "60" in ui.screen.message
    press_pin(ui, "2468")  # the right PIN, but locked
    assert ui.current == PIN
    ui.root.last_touch = ui.clock.now + 59  # keep the pad open while time passes
    ui.tick(59)
    assert ui.screen.message.endswith("1 s.")
    ui.tick(1.5)
    assert not ui.screen.message.endswith("s.")  # the countdown does not stay on the pad
    press_pin(ui, "2468")
    assert ui.current == DASHBOARD


def test_the_lockout_survives_a_restart_and_a_new_configuration(ui: UiHarness) -> None:
    ui.root.open_pin()
    pump()
    for _ in range(5):
        press_pin(ui, "1111")
    assert "60 s" in ui.screen.message
    ui.close()
    restarted = UiHarness(ui.data_dir)  # `kiosk run` started again (Restart=always)
    try:
        restarted.root.open_pin()
        pump()
        assert "Réessayez dans" in restarted.screen.message
        press_pin(restarted, "2468")
        assert restarted.current == PIN
        restarted.root._build(restarted.deps)  # a configuration from head office applied
        restarted.root.open_pin()
        pump()
        assert "Réessayez dans" in restarted.screen.message
        restarted.root.last_touch = restarted.clock.now + 61
        restarted.tick(61)
        press_pin(restarted, "1111")  # the sixth wrong PIN in a row: locked for twice as long
        assert "120 s" in restarted.screen.message
    finally:
        restarted.close()
        ui.close = lambda: None  # type: ignore[method-assign]


@pytest.mark.parametrize("content", [None, "", "\x00garbage{"])
def test_a_missing_empty_or_damaged_pin_file_never_stops_the_shopper(
    window: object, kiosk_dir: Path, content: str | None
) -> None:
    from kiosk.runner import compose_app

    pin_file = kiosk_dir / "manager-pin.json"
    if content is None:
        pin_file.unlink()
    else:
        pin_file.write_text(content)
    harness = UiHarness(kiosk_dir)
    try:
        compose_app(harness.kiosk)  # what `kiosk run` does before the window: no exception
        tap(harness.target("4"))
        assert [row["value"] for row in harness.rows()] == ["4"]
        harness.root.open_pin()
        pump()
        expected = "Aucun code défini" if content is None else "définissez-le de nouveau avec `kiosk set-pin`"
        assert expected in harness.screen.message
        press_pin(harness, "2468")
        assert harness.current == PIN
    finally:
        harness.close()


def test_a_pin_set_while_the_kiosk_runs_works_without_a_restart(ui: UiHarness) -> None:
    from kiosk.pin import save_pin

    save_pin(ui.data_dir, "1357")  # `kiosk set-pin` from a shell while the app runs
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")  # the old PIN no longer opens it
    assert ui.current == PIN
    press_pin(ui, "1357")
    assert ui.current == DASHBOARD


def test_dashboard_shows_the_figures_of_kiosk_scores(ui: UiHarness) -> None:
    ui.seed()
    # A press storm: three alike visits in a row, each as soon as "thank you" has gone: stored, excluded.
    for _ in range(3):
        tap(ui.target("5"))
        ui.tick(1)
        tap(ui.target("9"))
        ui.tick(3.5)
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    assert ui.current == DASHBOARD
    result = CliRunner().invoke(main, ["scores", "--json", "--data-dir", str(ui.data_dir)])
    assert result.exit_code == 0, result.output
    today = json.loads(result.output)["days"][-1]["questions"]
    shown = texts(ui.screen)
    sat, rec = today["satisfaction"], today["recommend"]
    assert str(sat["responses"]) in shown
    assert f"{sat['csat']:.1f}%" in shown
    assert f"{sat['happy_index']:.1f}" in shown
    assert f"{rec['nps']:+.1f}" in shown
    assert str(sat["excluded"] + today["reason"]["excluded"] + rec["excluded"]) in shown
    assert sat["excluded"] >= 1
    view = ui.screen.view
    assert list(view.distribution.values) == [sat["distribution"][str(v)] for v in range(1, 6)]
    assert view.trend.values[-1] == sat["csat"]
    assert "Synchronisation : non configurée" in ui.screen.sync_text


def test_export_writes_a_csv_and_back_returns_to_the_shopper(ui: UiHarness) -> None:
    tap(ui.target("4"))
    ui.tick(25)
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    tap(ui.screen.ids.export)
    for _ in range(50):
        pump(1)
        if "Exporté" in ui.screen.status:
            break
        time.sleep(0.02)
    assert "Exporté" in ui.screen.status
    exported = list((ui.data_dir / "exports").glob("*.csv"))
    assert len(exported) == 1
    assert len(Path(exported[0]).read_text().splitlines()) == 2
    tap(ui.screen.ids.back)
    assert ui.current == "question-satisfaction"


def test_idle_on_the_manager_screen_returns_to_the_shopper_flow(ui: UiHarness) -> None:
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    ui.tick(21)
    assert ui.current == "question-satisfaction"


def test_exit_only_from_the_dashboard_and_close_is_refused(ui: UiHarness) -> None:
    from kiosk.ui.app import KioskApp

    stopped: list[bool] = []
    ui.root.quit = lambda: stopped.append(True)
    ui.root.exit_app()
    assert stopped == []
    app = KioskApp(ui.deps)
    app.kiosk_root = ui.root
    assert app.on_request_close() is True
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    tap(ui.screen.ids.exit)
    assert stopped == [True]
    assert app.on_request_close() is False
