"""Time arithmetic: UTC instants, the store's local calendar day (DST included) and day ranges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

UTC = dt.UTC


class TimeError(ValueError):
    """A timestamp that cannot be read or does not exist."""


def format_utc(at: dt.datetime) -> str:
    """The stored form of an instant: UTC, millisecond precision, fixed width so text order is time order."""
    if at.tzinfo is UTC and at.year >= 1000:
        # The same text in half the time (every tap stores one): isoformat truncates to the millisecond
        # as the division below does, and writes the year on four digits as strftime does from 1000 on.
        return f"{at.isoformat(timespec='milliseconds')[:-6]}Z"
    return (
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.astimezone(UTC).microsecond // 1000:03d}Z"
    )


def parse_stored(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def local_day(at: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The store-local calendar day of an instant."""
    return at.astimezone(tz).date()


def parse_timestamp(text: str, tz: ZoneInfo) -> dt.datetime:
    """Read an ISO 8601 time. With an offset or `Z` it is that instant; without one it is store-local time.

    A local time that does not exist (skipped by a DST change) is refused; one that happens twice (the hour
    repeated in autumn) is taken as the first of the two.
    """
    cleaned = text.strip()
    if not cleaned:
        raise TimeError("empty time")
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise TimeError(f"not an ISO 8601 time: {cleaned!r}") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    local = parsed.replace(tzinfo=tz, fold=0)
    back = local.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != parsed:
        raise TimeError(f"{cleaned} does not exist in {tz.key} (skipped by the change to summer time)")
    return local.astimezone(UTC)


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise TimeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def days_between(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from start to end, both included."""
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)
