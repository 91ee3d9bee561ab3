"""Periods of the head-office pages: presets, the previous period, and how a period splits into whole
months (monthly rollup) and the days around them (daily rollup)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.scoring import question_scores
from kiosk.domain.survey import SCALES, Kind, Question
from sync.central.queries import (
    INDEXES,
    Period,
    _figure,
    _next_month,
    ranking_scores,
    resolve_period,
    segments,
)
from sync.central.service import CentralError

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # A few days of a month: those days.
        (D(2026, 11, 10), D(2026, 11, 16), [("day", "2026-11-10", "2026-11-16", 1)]),
        (D(2026, 11, 1), D(2026, 11, 30), [("month", "2026-11", "2026-11", 1)]),
        # The rolling 30 days: November minus its first day, plus December's first.
        (
            D(2026, 11, 2),
            D(2026, 12, 1),
            [
                ("day", "2026-12-01", "2026-12-01", 1),
                ("day", "2026-11-01", "2026-11-01", -1),
                ("month", "2026-11", "2026-11", 1),
            ],
        ),
        (
            D(2026, 10, 20),
            D(2026, 12, 10),
            [
                ("day", "2026-10-20", "2026-10-31", 1),
                ("day", "2026-12-01", "2026-12-10", 1),
                ("month", "2026-11", "2026-11", 1),
            ],
        ),
        # A year: eleven whole months in one range, the twelfth minus its first day.
        (
            D(2025, 12, 2),
            D(2026, 12, 1),
            [
                ("day", "2026-12-01", "2026-12-01", 1),
                ("day", "2025-12-01", "2025-12-01", -1),
                ("month", "2025-12", "2026-11", 1),
            ],
        ),
        (D(2026, 2, 1), D(2026, 3, 31), [("month", "2026-02", "2026-03", 1)]),
        # Inside one month, leaving out both ends.
        (
            D(2026, 1, 3),
            D(2026, 1, 29),
            [
                ("day", "2026-01-01", "2026-01-02", -1),
                ("day", "2026-01-30", "2026-01-31", -1),
                ("month", "2026-01", "2026-01", 1),
            ],
        ),
    ],
)
def test_a_period_is_read_from_as_few_rollup_rows_as_it_can(
    start: dt.date, end: dt.date, expected: list[tuple[str, str, str, int]]
) -> None:
    got = [(s.rollup, s.first, s.last, s.sign) for s in segments(Period(start, end))]
    assert sorted(got) == sorted(expected)


@given(
    start=st.dates(D(2024, 1, 1), D(2027, 12, 31)),
    length=st.integers(0, 800),
)
def test_segments_count_every_day_of_the_period_once_and_no_other(start: dt.date, length: int) -> None:
    end = start + dt.timedelta(days=length)
    coverage: dict[dt.date, int] = {}
    day_rows = month_rows = 0
    for segment in segments(Period(start, end)):
        if segment.rollup == "day":
            first, last = D.fromisoformat(segment.first), D.fromisoformat(segment.last)
        else:
            first = D.fromisoformat(segment.first + "-01")
            last = _next_month(D.fromisoformat(segment.last + "-01")) - dt.timedelta(days=1)
        if segment.rollup == "day":
            day_rows += (last - first).days + 1
        else:
            month_rows += len({d[:7] for d in _span(first, last)})
        for day in _span(first, last):
            coverage[D.fromisoformat(day)] = coverage.get(D.fromisoformat(day), 0) + segment.sign
    assert {d for d, n in coverage.items() if n} == {start + dt.timedelta(days=i) for i in range(length + 1)}
    assert set(coverage.values()) <= {0, 1}
    # Never more rows a store than reading the days themselves, and at most 15 days at each end (a month
    # left a few more days is read as the month minus the days it leaves out).
    assert day_rows + month_rows <= length + 1
    assert day_rows <= 2 * 15


def _span(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def test_presets_and_the_previous_period() -> None:
    today = D(2026, 12, 1)
    assert resolve_period("7d", None, None, today) == Period(D(2026, 11, 25), today, "7d")
    assert resolve_period("month", None, None, today) == Period(today, today, "month")
    assert resolve_period("yesterday", None, None, today).start == D(2026, 11, 30)
    # from/to win over a preset: a bookmarked view stays the same view.
    assert resolve_period("7d", "2026-01-01", "2026-01-31", today) == Period(D(2026, 1, 1), D(2026, 1, 31))
    assert Period(D(2026, 11, 10), D(2026, 11, 16)).previous() == Period(D(2026, 11, 3), D(2026, 11, 9))
    with pytest.raises(CentralError, match="after"):
        resolve_period(None, "2026-02-01", "2026-01-01", today)
    with pytest.raises(CentralError, match="a day from 2000-01-01"):
        resolve_period(None, "0001-01-01", None, today)  # its previous period is before the calendar


def test_ranking_score_pulls_small_stores_toward_the_average() -> None:
    scores = ranking_scores({"big": (50.0, 1000), "small": (100.0, 2), "none": (None, 0)})
    # WAI = (50*1000 + 100*2) / 1002, W = 501: the small store's perfect score barely moves it.
    wai = (50 * 1000 + 100 * 2) / 1002
    assert scores["small"] == round((wai * 501 + 100 * 2) / 503, 1)
    assert scores["big"] == round((wai * 501 + 50 * 1000) / 1501, 1)
    assert scores["none"] is None and scores["small"] < 51


@given(
    kind=st.sampled_from([Kind.SMILEY5, Kind.SMILEY4, Kind.NPS, Kind.CES7]),
    raw=st.dictionaries(st.integers(0, 10), st.integers(0, 10_000), max_size=11),
)
def test_the_index_from_parts_is_the_kiosks_own_figure(kind: Kind, raw: dict[int, int]) -> None:
    """Head office computes an index as numerator / answers (so scopes add up exactly); it must equal the
    kiosk's scoring of the same counts."""
    question = Question("q", kind, {"en": "q"})
    low, high = SCALES[kind]
    counts = {str(v): n for v, n in raw.items() if low <= v <= high and n}
    scores = question_scores(question, counts)
    for index, (kinds, key) in INDEXES.items():
        if kind in kinds:
            assert _figure(question, index, counts) == (scores[key] if counts else None)


@given(st.integers(-(10**9), 10**9), st.integers(1, 10**6))
def test_integer_rounding_is_the_kiosks_rounding(numerator: int, denominator: int) -> None:
    from fractions import Fraction

    from kiosk.domain.scoring import round1
    from sync.central.queries import ratio1

    assert ratio1(numerator, denominator) == round1(Fraction(numerator, denominator))
