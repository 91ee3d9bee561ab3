"""The manager's side: the hidden corner, the PIN pad (success, failure, lockout), the dashboard's figures
against `kiosk scores --json` for the same database, CSV export, idle back to the shopper flow."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from kit import UiHarness, make_kiosk_dir, pump, tap, texts

from kiosk.cli import main
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer
from kiosk.ui.app import DASHBOARD, PIN
from kiosk.ui.presenters import Alert, SyncState


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
    from kiosk.bootstrap import compose_app

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


def half_up(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def french(number: str, suffix: str = "") -> str:
    return number.replace(".", ",") + suffix


def seed_for_the_dashboard(ui: UiHarness) -> None:
    """Shoppers in two languages over three weeks, answers after midnight and before, and press storms."""
    store = ui.kiosk.store
    tz = ZoneInfo("Europe/Paris")
    today = ui.deps.today(ui.deps.wall())

    def local(days_ago: int, hour: int, minute: int) -> dt.datetime:
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(dt.UTC)

    def visit(at: dt.datetime, face: int, nps: int, language: str) -> None:
        first = AnswerRecorder(store).record(NewAnswer("satisfaction", face, at, language=language))
        AnswerRecorder(store).record(
            NewAnswer(
                "recommend", nps, at + dt.timedelta(seconds=3), session_id=first.session_id, language=language
            )
        )

    for days_ago in range(0, 21, 2):
        for i, (face, nps) in enumerate([(5, 10), (4, 8), (2, 3), (5, 9), (3, 6)]):
            visit(local(days_ago, 9 + i, 10), face, nps, "fr" if i % 2 else "en")
    visit(local(1, 23, 30), 1, 0, "en")  # night answers: the hourly chart shows all 24 hours
    visit(local(3, 2, 10), 5, 10, "fr")
    visit(local(0, 0, 1), 4, 9, "fr")
    for i in range(3):  # a storm yesterday: three alike visits 3 s after each "thank you"
        visit(local(1, 15, 0) + dt.timedelta(seconds=9 * i), 1, 0, "fr")
    AnswerRecorder(store).end_visits(local(1, 16, 0))


def test_dashboard_figures_equal_kiosk_scores_for_each_period(tmp_path: Path, window: object) -> None:
    data_dir = make_kiosk_dir(tmp_path / "kiosk", pin="2468")
    with (data_dir / "kiosk.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[targets]\ncsat = 85\nnps = 30\nhappy_index = 60\n")
    ui = UiHarness(data_dir)
    try:
        seed_for_the_dashboard(ui)
        # A storm through the screen today: each visit as soon as "thank you" has gone.
        for _ in range(3):
            tap(ui.target("5"))
            ui.tick(1)
            tap(ui.target("9"))
            ui.tick(3.5)
        ui.root.open_pin()
        pump()
        press_pin(ui, "2468")
        assert ui.current == DASHBOARD
        today = ui.deps.today(ui.deps.wall())
        month = scores_json(data_dir, today - dt.timedelta(days=29), today)["days"]
        for period in (1, 7, 30):
            ui.root.choose_period(period)
            pump()
            view = ui.screen.view
            days = scores_json(data_dir, today - dt.timedelta(days=period - 1), today)["days"]
            sat = [day["questions"]["satisfaction"] for day in days]
            rec = [day["questions"]["recommend"] for day in days]
            responses, excluded = sum(q["responses"] for q in sat), sum(q["excluded"] for q in sat)
            dist = [sum(q["distribution"][str(v)] for q in sat) for v in range(1, 6)]
            csat = Decimal(100 * (dist[3] + dist[4])) / responses
            happy = Decimal(sum(n * (v - 1) * 25 for v, n in enumerate(dist, start=1))) / responses
            nps_dist = [sum(q["distribution"][str(v)] for q in rec) for v in range(11)]
            nps = Decimal(100 * (sum(nps_dist[9:]) - sum(nps_dist[:7]))) / sum(nps_dist)
            shown = {tile.label: tile for tile in view.tiles}
            assert shown["Réponses"].value == str(responses)
            assert shown["Appuis répétés (exclus)"].value == str(excluded)
            assert excluded == 3 * (2 if period > 1 else 1)  # visits, not answers over every question
            assert shown["CSAT"].value == french(half_up(csat), "\u00a0%")
            assert shown["Indice de satisfaction"].value == french(half_up(happy))
            assert shown["NPS"].value == french(("+" if nps >= 0 else "") + half_up(nps))
            assert shown["CSAT"].note.startswith("Objectif 85,0\u00a0%") and shown["CSAT"].good is (
                csat >= 85
            )
            assert shown["NPS"].good is (nps >= 30)
            assert list(view.distribution.values) == dist
            assert sum(view.hourly.values) == responses and len(view.hourly.values) == 24
            assert view.hourly.values[0] >= 1  # 00:01 today
            if period > 1:
                assert view.hourly.values[23] >= 1
            trend_days = month[-(30 if period == 30 else 14) :]
            assert list(view.csat_trend.values) == [
                d["questions"]["satisfaction"]["csat"] for d in trend_days
            ]
            assert list(view.nps_trend.values) == [d["questions"]["recommend"]["nps"] for d in trend_days]
            labels = texts(ui.screen)
            for tile in view.tiles:
                assert tile.value in labels and tile.label in labels
            assert [p.days for p in view.periods if p.chosen] == [period]
        assert "Synchronisation : non configurée" in ui.screen.sync_text
    finally:
        ui.close()


def scores_json(data_dir: Path, start: dt.date, end: dt.date) -> dict[str, Any]:
    result = CliRunner().invoke(
        main,
        [
            "scores",
            "--json",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_open_alerts_from_head_office_show_on_the_dashboard(ui: UiHarness) -> None:
    opened = dt.datetime(2026, 12, 1, 9, 15, tzinfo=dt.UTC)
    alert = Alert("a-17", "unhappy_share", opened, "62 % unhappy in 15 min")
    ui.deps.sync_status = lambda: SyncState(configured=True, alerts=(alert,))
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    assert "Alerte ouverte depuis le 01/12/2026 10:15 : 62 % unhappy in 15 min" in ui.screen.sync_text


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
