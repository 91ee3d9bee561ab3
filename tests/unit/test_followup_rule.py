"""The low-score rule and the thank-you view after a visit (presenters, no Kivy), and the `[followup]` table."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk.config import ConfigError, default_config_text, load_config, parse_config
from kiosk.domain.survey import Followup, Kind, Question, Survey
from kiosk.ui.presenters import QR_TAP_GUARD_S, SurveyFlow, ThanksView, is_low, low_visit

AT = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
URL = "https://feedback.example.com/r/TOKEN"
DEFAULT = Followup()


def question(kind: Kind, qid: str = "q") -> Question:
    return Question(qid, kind, {"fr": "?", "en": "?"})


def lows(kind: Kind, followup: Followup = DEFAULT) -> list[str]:
    q = question(kind)
    return [v for v in q.values if is_low(q, v, followup)]


def test_default_rule_the_two_lowest_faces_and_nps_detractors() -> None:
    assert lows(Kind.SMILEY5) == ["1", "2"]
    assert lows(Kind.SMILEY4) == ["1", "2"]
    assert lows(Kind.NPS) == ["0", "1", "2", "3", "4", "5", "6"]
    assert lows(Kind.CES7) == []


def test_a_configured_rule_replaces_the_default_for_its_question_only() -> None:
    followup = Followup(low_at_most=(("q", 1),))
    assert lows(Kind.SMILEY5, followup) == ["1"]
    assert lows(Kind.NPS, Followup(low_at_most=(("q", 4),))) == ["0", "1", "2", "3", "4"]
    assert lows(Kind.NPS, Followup(low_at_most=(("q", -1),))) == []
    assert lows(Kind.CES7, Followup(low_at_most=(("q", 3),))) == ["1", "2", "3"]
    assert lows(Kind.SMILEY5, Followup(low_at_most=(("other", 4),))) == ["1", "2"]


def test_a_visit_is_low_when_any_answer_is() -> None:
    survey = Survey(
        (question(Kind.SMILEY5, "satisfaction"), question(Kind.NPS, "recommend")), ("fr", "en"), "v"
    )
    assert not low_visit(survey, Followup(), {"satisfaction": "3", "recommend": "7"})
    assert low_visit(survey, Followup(), {"satisfaction": "3", "recommend": "6"})
    assert low_visit(survey, Followup(), {"satisfaction": "2"})
    assert not low_visit(survey, Followup(), {})


def flow(links: list[tuple[str, str]], url: str | None = URL, followup: Followup = DEFAULT) -> SurveyFlow:
    cfg, problems = parse_config(tomllib.loads(default_config_text("s", "d", "Europe/Paris", "Store")))
    assert cfg is not None and not problems

    def link(session: str, language: str) -> str | None:
        links.append((session, language))
        return url

    return SurveyFlow(cfg.survey, lambda given: None, cfg.display, followup, link, language="en")


def test_a_low_visit_gets_the_apology_and_its_link_for_as_long_as_qr_seconds() -> None:
    asked: list[tuple[str, str]] = []
    visit = flow(asked)
    visit.answer("1", AT, 0.0)
    visit.answer("waiting", AT, 1.0)
    assert asked == []  # not before the visit ends
    visit.answer("9", AT, 2.0)
    assert visit.thanks == ThanksView(apology=True, url=URL)
    assert asked == [(visit.session_id, "en")]
    assert not visit.tick(2.0 + 14.9)
    assert visit.tick(2.0 + 15.0)
    assert visit.thanks == ThanksView() and visit.at_start


def test_a_good_visit_gets_the_usual_thanks_and_no_link_is_made() -> None:
    asked: list[tuple[str, str]] = []
    visit = flow(asked)
    visit.answer("4", AT, 0.0)
    visit.answer("7", AT, 1.0)
    assert visit.thanks == ThanksView() and asked == []
    assert not visit.end_thanks(1.0 + 2.0)  # the usual thank-you ignores taps
    assert visit.tick(1.0 + 3.0)


def test_without_a_link_the_apology_stays_the_usual_time_and_ignores_taps() -> None:
    visit = flow([], url=None)
    visit.answer("2", AT, 0.0)
    visit.skip(1.0)
    visit.answer("10", AT, 2.0)
    assert visit.thanks == ThanksView(apology=True, url=None)
    assert not visit.end_thanks(4.0)
    assert visit.tick(5.0)


def test_a_tap_ends_the_qr_code_after_the_guard() -> None:
    visit = flow([])
    visit.answer("5", AT, 0.0)
    visit.answer("3", AT, 1.0)
    assert visit.thanks.url == URL
    assert not visit.end_thanks(1.0 + QR_TAP_GUARD_S / 2)
    assert visit.end_thanks(1.0 + QR_TAP_GUARD_S)
    assert visit.at_start and visit.thanks == ThanksView()


def test_disabled_follow_ups_thank_everyone_alike() -> None:
    asked: list[tuple[str, str]] = []
    visit = flow(asked, followup=Followup(enabled=False))
    visit.answer("1", AT, 0.0)
    visit.skip(1.0)
    visit.answer("0", AT, 2.0)
    assert visit.thanks == ThanksView() and asked == []


def test_followup_table_defaults_values_and_errors_name_file_and_line(tmp_path: Path) -> None:
    text = default_config_text("s", "d", "Europe/Paris", "Store")
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    assert load_config(path).followup == Followup(enabled=True, qr_seconds=15.0, low_at_most=())
    path.write_text(
        text.replace(
            "# low_at_most = { satisfaction = 2, recommend = 6 }", "low_at_most = { satisfaction = 1 }"
        )
        .replace("qr_seconds = 15 ", "qr_seconds = 30 ")
        .replace("enabled = true ", "enabled = false")
    )
    assert load_config(path).followup == Followup(False, 30.0, (("satisfaction", 1),))
    path.write_text(
        text.replace(
            "# low_at_most = { satisfaction = 2, recommend = 6 }",
            'low_at_most = { satisfaction = 6, reason = 1, visit = 2, recommend = "6" }\ncolour = 1',
        )
        .replace("qr_seconds = 15 ", "qr_seconds = 2  ")
        .replace("enabled = true ", 'enabled = "yes"')
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    problems = error.value.problems
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("low_at_most"))
    assert (
        f"{path}:{line}: followup.low_at_most.satisfaction: must be a whole number from 0 (none low) to 5, not 6"
        in problems
    )
    assert any(
        p.endswith(
            "followup.low_at_most.reason: question 'reason' has no numeric scale (a choice is never low)"
        )
        for p in problems
    )
    assert any(p.endswith("followup.low_at_most.visit: no question 'visit' in the survey") for p in problems)
    assert any(
        p.endswith("followup.low_at_most.recommend: must be a whole number from -1 (none low) to 10, not '6'")
        for p in problems
    )
    assert any(
        p.endswith("followup.qr_seconds: must be a number from 5 to 120 (seconds), not 2") for p in problems
    )
    assert any(p.endswith("followup.enabled: must be true or false, not 'yes'") for p in problems)
    assert any(
        p.endswith("followup.colour: unknown key (expected one of enabled, low_at_most, qr_seconds)")
        for p in problems
    )


def test_the_ui_imports_neither_the_sync_code_nor_segno_before_a_low_score(tmp_path: Path) -> None:
    code = (
        "import sys, kiosk.ui.app\n"
        "bad = [m for m in sys.modules if m == 'segno' or m == 'sync' or m.startswith('sync.')]\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_HOME=str(tmp_path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120, capture_output=True)
