"""Store-local days: DST changes in Paris, answers near local midnight, and reading naive local times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.days import TimeError, format_utc, local_day, parse_timestamp

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def test_answer_just_before_local_midnight_counts_for_that_day() -> None:
    # 23:59 in Paris in winter is 22:59 UTC the same day; 00:00:30 Paris is 23:00:30 UTC the day before.
    assert local_day(utc(2026, 11, 1, 22, 59), PARIS) == dt.date(2026, 11, 1)
    assert local_day(utc(2026, 11, 1, 23, 0, 30), PARIS) == dt.date(2026, 11, 2)


def test_summer_midnight_is_two_hours_before_utc_midnight() -> None:
    assert local_day(utc(2026, 7, 14, 21, 59), PARIS) == dt.date(2026, 7, 14)
    assert local_day(utc(2026, 7, 14, 22, 0), PARIS) == dt.date(2026, 7, 15)


def test_spring_forward_day_has_23_hours() -> None:
    start = parse_timestamp("2026-03-29T00:00", PARIS)
    end = parse_timestamp("2026-03-30T00:00", PARIS)
    assert end - start == dt.timedelta(hours=23)
    assert local_day(utc(2026, 3, 29, 21, 59), PARIS) == dt.date(2026, 3, 29)  # 23:59 CEST
    assert local_day(utc(2026, 3, 28, 23, 0), PARIS) == dt.date(2026, 3, 29)  # 00:00 CET


def test_fall_back_day_has_25_hours() -> None:
    start = parse_timestamp("2026-10-25T00:00", PARIS)
    end = parse_timestamp("2026-10-26T00:00", PARIS)
    assert end - start == dt.timedelta(hours=25)
    assert local_day(utc(2026, 10, 25, 22, 59), PARIS) == dt.date(2026, 10, 25)  # 23:59 CET
    assert local_day(utc(2026, 10, 24, 22, 0), PARIS) == dt.date(2026, 10, 25)  # 00:00 CEST


def test_time_skipped_by_summer_time_is_refused() -> None:
    with pytest.raises(TimeError, match="does not exist"):
        parse_timestamp("2026-03-29T02:30", PARIS)


def test_repeated_autumn_hour_is_read_as_the_first_one() -> None:
    assert parse_timestamp("2026-10-25T02:30", PARIS) == utc(2026, 10, 25, 0, 30)


def test_offsets_and_z_are_taken_as_given() -> None:
    assert parse_timestamp("2026-11-01T10:00:00Z", PARIS) == utc(2026, 11, 1, 10)
    assert parse_timestamp("2026-11-01T10:00:00+05:00", PARIS) == utc(2026, 11, 1, 5)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00", "2026-11-01 25:00"])
def test_unreadable_times_are_refused(text: str) -> None:
    with pytest.raises(TimeError):
        parse_timestamp(text, PARIS)


def test_stored_times_sort_as_text_in_time_order() -> None:
    times = [
        utc(2026, 1, 1, 0, 0, 0),
        utc(2026, 1, 1, 0, 0, 0) + dt.timedelta(milliseconds=5),
        utc(2026, 1, 2),
    ]
    texts = [format_utc(t) for t in times]
    assert texts == sorted(texts)
    assert texts[1] == "2026-01-01T00:00:00.005Z"


@given(
    at=st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC, PARIS, ZoneInfo("UTC"), dt.timezone(dt.timedelta(hours=-3))]),
    )
)
def test_stored_times_keep_their_text_whatever_zone_they_come_in(at: dt.datetime) -> None:
    # The text every stored answer already has: UTC, truncated to the millisecond, Z.
    utc_at = at.astimezone(dt.UTC)
    expected = utc_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc_at.microsecond // 1000:03d}Z"
    assert format_utc(at) == expected
