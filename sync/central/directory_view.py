"""What alerts and digests need to know about a store, each fact behind one small function.

For now the facts come from the store's kiosk.toml kept by central (`stores.config_toml`): its name and
time zone. Opening hours, closed days, targets and groups have no home yet, so a store is always open, never
closed, has no target and belongs to no group. The store directory (dashboard issue) will answer these
functions instead; nothing else in the alert code reads a store's configuration.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from kiosk.config import ConfigError, check_config_text
from kiosk.domain.survey import KioskConfig, Survey
from sync.central.db import stores

DEFAULT_TIMEZONE = "Europe/Paris"


def store_config(conn: Connection, store_id: str) -> KioskConfig | None:
    """The store's checked kiosk.toml, or None when central has none (or a broken one)."""
    text = conn.execute(select(stores.c.config_toml).where(stores.c.id == store_id)).scalar()
    return _parsed(str(text)) if text else None


@lru_cache(maxsize=512)
def _parsed(text: str) -> KioskConfig | None:
    # Evaluation runs after every upload: parse each configuration text once.
    try:
        return check_config_text(text, "kiosk.toml")
    except ConfigError:
        return None


def store_survey(conn: Connection, store_id: str) -> Survey | None:
    config = store_config(conn, store_id)
    return None if config is None else config.survey


def store_timezone(conn: Connection, store_id: str) -> ZoneInfo:
    config = store_config(conn, store_id)
    return ZoneInfo(config.store.timezone if config else DEFAULT_TIMEZONE)


def store_name(conn: Connection, store_id: str) -> str:
    config = store_config(conn, store_id)
    return config.store.name if config else store_id


def is_open(conn: Connection, store_id: str, at: dt.datetime) -> bool:
    """Whether the store is open at an instant (opening hours, closed days). Default: always open."""
    return True


def is_closed_day(conn: Connection, store_id: str, day: dt.date) -> bool:
    """Whether the store is closed all of a local day (a holiday, works). Default: never."""
    return False


def closing_time(conn: Connection, store_id: str, day: dt.date) -> dt.time | None:
    """When the store closes on a local day (a digest of that day is sent after it). None: at midnight."""
    return None


def store_target(conn: Connection, store_id: str, index: str) -> float | None:
    """The store's target for an index (nps, csat, happy_index). Default: none."""
    return None


def group_stores(conn: Connection, group: str) -> list[str] | None:
    """The stores of a group, or None when there is no such group. Default: no groups."""
    return None


def all_stores(conn: Connection) -> list[str]:
    return [str(s) for s in conn.execute(select(stores.c.id).order_by(stores.c.id)).scalars()]
