"""What alerts and digests need to know about a store, each fact behind one small function.

The store directory (`sync/central/directory.py`: tables `store_directory` and `store_groups`, loaded with
`kiosk-central set-stores`) answers first: name, time zone, opening hours, closed days, targets (the store's
own, else its nearest group's) and the stores of a group with its sub-groups. A store missing from the
directory falls back to its kiosk.toml kept by central (`stores.config_toml`: name and time zone), and is
then always open, never closed and without a target. A directory entry without any opening hours is open
all day (like the fallback); one that gives some weekdays is closed on the others. Nothing else in the alert
code reads a store's configuration.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from kiosk.config import ConfigError, check_config_text
from kiosk.domain.survey import KioskConfig, Survey
from sync.central.db import store_directory, store_groups, stores

if TYPE_CHECKING:
    from sync.central.directory import StoreEntry

DEFAULT_TIMEZONE = "Europe/Paris"


def store_config(conn: Connection, store_id: str) -> KioskConfig | None:
    """The store's checked kiosk.toml, or None when central has none (or a broken one)."""
    text = conn.execute(select(stores.c.config_toml).where(stores.c.id == store_id)).scalar()
    return parsed_config(str(text)) if text else None


@lru_cache(maxsize=512)
def parsed_config(text: str) -> KioskConfig | None:
    """A configuration text checked once per process (ingest, rollups, alerts and pages all read it): the
    configuration, or None when it does not pass."""
    try:
        return check_config_text(text, "kiosk.toml")
    except ConfigError:
        return None


def store_entry(conn: Connection, store_id: str) -> StoreEntry | None:
    """The store's directory entry (one row read by its key), or None when the directory lacks it."""
    row = conn.execute(select(store_directory).where(store_directory.c.store_id == store_id)).first()
    if row is None:
        return None
    return _entry(
        row.store_id,
        row.name,
        row.group_id,
        row.timezone,
        row.opening_hours,
        row.closed_days,
        (row.target_nps, row.target_csat, row.target_happy_index),
    )


@lru_cache(maxsize=512)
def _entry(
    store_id: str,
    name: str,
    group_id: str | None,
    timezone: str,
    hours: str,
    closed: str,
    targets: tuple[float | None, ...],
) -> StoreEntry:
    # Replays ask is_open thousands of times: decode each row's JSON once. (Imported here: the directory
    # module writes the audit log, whose module needs the alerts, which need this one.)
    from sync.central import directory
    from sync.central.directory import StoreEntry

    return StoreEntry(
        store_id,
        name,
        group_id,
        timezone,
        directory._decode_hours(hours),
        tuple(json.loads(closed)),
        dict(zip(directory.TARGETS, targets, strict=True)),
    )


def store_survey(conn: Connection, store_id: str) -> Survey | None:
    config = store_config(conn, store_id)
    return None if config is None else config.survey


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def store_timezone(conn: Connection, store_id: str) -> ZoneInfo:
    entry = store_entry(conn, store_id)
    zone = _zone(entry.timezone) if entry else None
    if zone is not None:
        return zone
    config = store_config(conn, store_id)
    return ZoneInfo(config.store.timezone if config else DEFAULT_TIMEZONE)


def store_name(conn: Connection, store_id: str) -> str:
    entry = store_entry(conn, store_id)
    if entry is not None:
        return entry.name
    config = store_config(conn, store_id)
    return config.store.name if config else store_id


def _has_hours(entry: StoreEntry) -> bool:
    return any(entry.opening_hours.values())


def is_open(conn: Connection, store_id: str, at: dt.datetime) -> bool:
    """Whether the store is open at an instant (opening hours and closed days, in its time zone).
    Without a directory entry, or with an entry that gives no opening hours: open unless a closed day."""
    entry = store_entry(conn, store_id)
    if entry is None:
        return True
    local = at.astimezone(store_timezone(conn, store_id))
    if not _has_hours(entry):
        return local.date().isoformat() not in entry.closed_days
    return entry.open_at(local)


def is_closed_day(conn: Connection, store_id: str, day: dt.date) -> bool:
    """Whether the store is closed all of a local day: a closed day of the directory, or a weekday without
    opening hours when the entry gives some. Without a directory entry: never."""
    entry = store_entry(conn, store_id)
    if entry is None:
        return False
    if day.isoformat() in entry.closed_days:
        return True
    return _has_hours(entry) and not entry.opening_hours.get(day.weekday())


def closing_time(conn: Connection, store_id: str, day: dt.date) -> dt.time | None:
    """When the store closes on a local day (a digest of that day is sent after it): the end of its last
    opening span. None (midnight) without hours that day."""
    entry = store_entry(conn, store_id)
    spans = entry.opening_hours.get(day.weekday(), []) if entry else []
    if not spans or is_closed_day(conn, store_id, day):
        return None
    end = max(stop for _start, stop in spans)
    return None if end >= 24 * 60 else dt.time(end // 60, end % 60)


def store_target(conn: Connection, store_id: str, index: str) -> float | None:
    """The store's target for an index (nps, csat, happy_index): its own, else its nearest group's."""
    entry = store_entry(conn, store_id)
    if entry is None:
        return None
    if entry.targets.get(index) is not None:
        return entry.targets[index]
    from sync.central import directory

    return directory.load(conn).target(store_id, index)


def group_stores(conn: Connection, group: str) -> list[str] | None:
    """The stores of a group and of its sub-groups (sorted), or None when there is no such group."""
    if conn.execute(select(store_groups.c.id).where(store_groups.c.id == group)).first() is None:
        return None
    from sync.central import directory

    return sorted(directory.load(conn).stores_in(group))


def all_stores(conn: Connection) -> list[str]:
    return [str(s) for s in conn.execute(select(stores.c.id).order_by(stores.c.id)).scalars()]
