"""The repeated-press rule: a child pressing the same face is flagged, normal traffic never is."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.repeats import VisitMark, flag_visits
from kiosk.domain.survey import RepeatRule

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def visit(seconds: float, value: str = "5", duration: float = 0) -> VisitMark:
    start = T0 + dt.timedelta(seconds=seconds)
    return VisitMark("satisfaction", value, start, start + dt.timedelta(seconds=duration))


def test_same_face_every_few_seconds_keeps_the_first_press_only() -> None:
    presses = [visit(4 * i) for i in range(6)]
    assert flag_visits(presses, [], RepeatRule()) == [False, True, True, True, True, True]


def test_min_run_three_lets_two_presses_in_a_row_count() -> None:
    presses = [visit(4 * i) for i in range(4)]
    assert flag_visits(presses, [], RepeatRule(window_seconds=10, min_run=3)) == [False, False, True, True]


def test_a_different_face_breaks_the_run() -> None:
    presses = [visit(0, "5"), visit(4, "5"), visit(8, "1"), visit(12, "5")]
    assert flag_visits(presses, [], RepeatRule()) == [False, True, False, False]


def test_the_window_runs_from_the_end_of_the_previous_visit() -> None:
    # A shopper who took 30 s over three questions, and the same first answer 5 s after they finished.
    presses = [visit(0, duration=30), visit(35)]
    assert flag_visits(presses, [], RepeatRule()) == [False, True]


def test_rule_turned_off() -> None:
    presses = [visit(2 * i) for i in range(5)]
    assert flag_visits(presses, [], RepeatRule(window_seconds=0)) == [False] * 5


def test_history_before_an_import_continues_the_run() -> None:
    assert flag_visits([visit(5)], [visit(0)], RepeatRule()) == [True]


@given(st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=60), st.floats(60, 3600))
def test_visits_a_minute_or_more_apart_are_never_flagged(values: list[str], gap: float) -> None:
    visits = [visit(i * gap, v) for i, v in enumerate(values)]
    assert not any(flag_visits(visits, [], RepeatRule()))
