"""The window rule of alerts (kiosk.domain.alerts): examples a store manager would recognise, and properties
over random answer streams."""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.alerts import (
    OpenAlert,
    TimedAnswer,
    Timeline,
    bottom_values,
    is_late,
    next_step,
    share_episodes,
    share_fires,
    window_figures,
)
from kiosk.domain.survey import Kind, Question

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
W15 = dt.timedelta(minutes=15)
SMILEY = Question("satisfaction", Kind.SMILEY5, {"en": "How was it?"})
RED = bottom_values(SMILEY)
HALF = Fraction(1, 2)


def at(minutes: float, value: str, suspect: bool = False) -> TimedAnswer:
    return TimedAnswer(T0 + dt.timedelta(minutes=minutes), value, suspect)


def test_happyornot_advice_four_unhappy_in_fifteen_minutes_fires() -> None:
    answers = [at(0, "1"), at(3, "2"), at(6, "1"), at(9, "1")]
    figures = window_figures(answers, T0 + dt.timedelta(minutes=9), W15, RED)
    assert (figures.matching, figures.total) == (4, 4)
    assert share_fires(figures, HALF, 4)
    # Three are not enough answers, however unhappy.
    assert not share_fires(window_figures(answers[:3], answers[2].at, W15, RED), HALF, 4)


def test_window_is_half_open_and_repeated_presses_do_not_count() -> None:
    end = T0 + W15
    answers = [at(0, "1"), at(15, "1"), at(10, "2", suspect=True), at(16, "1")]
    figures = window_figures(answers, end, W15, RED)
    # The answer exactly 15 minutes before the end is out, the one at the end is in, the suspect and the
    # later one are out.
    assert (figures.matching, figures.total) == (1, 1)


def test_nps_detractors_are_the_bottom_of_a_0_to_10_question() -> None:
    nps = Question("recommend", Kind.NPS, {"en": "?"})
    assert bottom_values(nps) == {str(v) for v in range(7)}


def test_episodes_of_a_morning() -> None:
    answers = [at(0, "1"), at(2, "1"), at(4, "2"), at(5, "1"), at(6, "2"), at(8, "5")]
    answers += [at(120, "1"), at(121, "1"), at(122, "1"), at(123, "1")]
    episodes = share_episodes(answers, W15, RED, HALF, 4)
    assert [e.first.end for e in episodes] == [T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=123)]
    assert episodes[0].peak.matching == 5


def test_lifecycle_opens_once_and_closes_after_staying_clear() -> None:
    clear = dt.timedelta(minutes=15)
    assert next_step(None, True, T0, clear).action == "open"
    assert next_step(None, False, T0, clear).action == "none"
    open_alert = OpenAlert(T0, None)
    assert next_step(open_alert, True, T0, clear).action == "keep"
    step = next_step(open_alert, False, T0 + dt.timedelta(minutes=5), clear)
    assert (step.action, step.cleared_since) == ("cleared", T0 + dt.timedelta(minutes=5))
    cleared = OpenAlert(T0, step.cleared_since)
    assert next_step(cleared, False, T0 + dt.timedelta(minutes=10), clear).action == "keep"
    assert next_step(cleared, True, T0 + dt.timedelta(minutes=10), clear).action == "refired"
    assert next_step(cleared, False, T0 + dt.timedelta(minutes=20), clear).action == "close"


def test_late_is_measured_from_the_end_of_the_window() -> None:
    day = dt.timedelta(hours=24)
    assert not is_late(T0, T0 + day, day)
    assert is_late(T0, T0 + day + dt.timedelta(seconds=1), day)


# -- properties ------------------------------------------------------------------------------------------

answer_st = st.builds(
    TimedAnswer,
    at=st.integers(0, 60 * 60 * 3).map(lambda s: T0 + dt.timedelta(seconds=s)),
    value=st.sampled_from(["1", "2", "3", "4", "5"]),
    suspect=st.booleans(),
)
answers_st = st.lists(answer_st, max_size=40)
end_st = st.integers(0, 60 * 60 * 3).map(lambda s: T0 + dt.timedelta(seconds=s))
window_st = st.integers(1, 120).map(lambda m: dt.timedelta(minutes=m))
share_st = st.fractions(min_value=0, max_value=1, max_denominator=20)


@settings(max_examples=100)
@given(answers_st, end_st, window_st)
def test_figures_are_a_brute_force_count(
    answers: list[TimedAnswer], end: dt.datetime, window: dt.timedelta
) -> None:
    figures = window_figures(answers, end, window, RED)
    inside = [a for a in answers if not a.suspect and end - window < a.at <= end]
    assert figures.total == len(inside)
    assert figures.matching == sum(a.value in RED for a in inside)
    assert 0 <= figures.matching <= figures.total


@settings(max_examples=100)
@given(answers_st, end_st, window_st)
def test_the_timeline_counts_like_the_plain_function(
    answers: list[TimedAnswer], end: dt.datetime, window: dt.timedelta
) -> None:
    timeline = Timeline(answers)
    assert timeline.figures(end, window, RED) == window_figures(answers, end, window, RED)


@settings(max_examples=100)
@given(answers_st, end_st, window_st, st.randoms())
def test_order_does_not_matter(
    answers: list[TimedAnswer], end: dt.datetime, window: dt.timedelta, rnd: object
) -> None:
    shuffled = list(answers)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert window_figures(answers, end, window, RED) == window_figures(shuffled, end, window, RED)


@settings(max_examples=100)
@given(answers_st, end_st, window_st, st.lists(answer_st, max_size=10), share_st, st.integers(0, 8))
def test_repeated_presses_and_answers_outside_the_window_change_nothing(
    answers: list[TimedAnswer],
    end: dt.datetime,
    window: dt.timedelta,
    extra: list[TimedAnswer],
    share: Fraction,
    minimum: int,
) -> None:
    noise = [a for a in extra if a.suspect or not end - window < a.at <= end]
    before = window_figures(answers, end, window, RED)
    after = window_figures(answers + noise, end, window, RED)
    assert before == after
    assert share_fires(before, share, minimum) == share_fires(after, share, minimum)


@settings(max_examples=100)
@given(answers_st, end_st, window_st, share_st, st.integers(0, 8), st.integers(1, 5))
def test_one_more_unhappy_answer_never_silences_a_firing_rule(
    answers: list[TimedAnswer],
    end: dt.datetime,
    window: dt.timedelta,
    share: Fraction,
    minimum: int,
    more: int,
) -> None:
    unhappy = [TimedAnswer(end, "1") for _ in range(more)]
    if share_fires(window_figures(answers, end, window, RED), share, minimum):
        assert share_fires(window_figures(answers + unhappy, end, window, RED), share, minimum)


@settings(max_examples=100)
@given(answers_st, end_st, window_st, share_st, st.integers(0, 8))
def test_firing_means_the_threshold_exactly(
    answers: list[TimedAnswer], end: dt.datetime, window: dt.timedelta, share: Fraction, minimum: int
) -> None:
    figures = window_figures(answers, end, window, RED)
    fires = share_fires(figures, share, minimum)
    if figures.total:
        assert fires == (
            figures.total >= max(minimum, 1) and Fraction(figures.matching, figures.total) >= share
        )
    else:
        assert not fires


@settings(max_examples=50)
@given(answers_st, window_st, share_st, st.integers(1, 6))
def test_episodes_start_at_a_firing_window_and_cover_every_firing_answer(
    answers: list[TimedAnswer], window: dt.timedelta, share: Fraction, minimum: int
) -> None:
    episodes = share_episodes(answers, window, RED, share, minimum)
    firing_ends = [
        a.at
        for a in answers
        if not a.suspect and share_fires(window_figures(answers, a.at, window, RED), share, minimum)
    ]
    for episode in episodes:
        assert share_fires(episode.first, share, minimum)
        assert episode.first.end <= episode.last.end
    for end in firing_ends:
        assert any(e.first.end <= end <= e.last.end for e in episodes)
    # Episodes are ordered and apart by more than the window.
    for before, after in itertools.pairwise(episodes):
        assert after.first.end - before.last.end > window
