"""Periods of the head-office pages: presets, the previous period, and how a period splits into whole
months (monthly rollup) and the days around them (daily rollup)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.scoring import question_scores
from kiosk.domain.survey import SCALES, Kind, Question
from sync.central.queries import INDEXES, Period, _figure, ranking_scores, resolve_period, segments
from sync.central.service import CentralError

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "days", "months"),
    [
        (D(2026, 11, 10), D(2026, 11, 16), [("2026-11-10", "2026-11-16")], None),
        (D(2026, 11, 1), D(2026, 11, 30), [], ("2026-11", "2026-11")),
        (
            D(2026, 10, 20),
            D(2026, 12, 10),
            [("2026-10-20", "2026-10-31"), ("2026-12-01", "2026-12-10")],
            ("2026-11", "2026-11"),
        ),
        (
            D(2025, 12, 2),
            D(2026, 12, 1),
            [("2025-12-02", "2025-12-31"), ("2026-12-01", "2026-12-01")],
            ("2026-01", "2026-11"),
        ),
        (D(2026, 2, 1), D(2026, 3, 31), [], ("2026-02", "2026-03")),
        (D(2026, 2, 2), D(2026, 2, 28), [("2026-02-02", "2026-02-28")], None),
    ],
)
def test_a_period_is_whole_months_and_the_days_around_them(
    start: dt.date, end: dt.date, days: list[tuple[str, str]], months: tuple[str, str] | None
) -> None:
    assert segments(Period(start, end)) == (days, months)


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
