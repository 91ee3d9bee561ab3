"""The heartbeat: app version, pending and quarantined counts, the oldest unsynced answer, free disk, the
device clock, and the configuration applied or refused, to head office.

Sent by the `sync-heartbeat` job of `kiosk run` and at the end of `kiosk sync`, so that head office sees a
kiosk's state after a sync from the command line too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, cast

from kiosk import __version__
from kiosk.domain.days import format_utc
from sync.alerts import STATE_KEY as ALERTS_KEY
from sync.alerts import alerts_from_reply
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.planner import HttpReply
from sync.protocol import HeartbeatBody
from sync.remote_config import config_report

# The oldest answer still to send: not synced and not quarantined (the same rule as the pending count).
OLDEST_PENDING = """
    SELECT min(a.created_at) FROM answers a
    WHERE a.synced_at IS NULL AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.answer_id = a.id)
"""


def oldest_unsynced(outbox: Outbox, now: dt.datetime) -> tuple[str | None, int | None]:
    """The created_at of the oldest pending answer and its age in whole seconds (never below 0: an answer
    made while the clock was ahead), or (None, None) when nothing is pending."""
    row = outbox.db.execute(OLDEST_PENDING).fetchone()
    oldest = row[0] if row else None
    if not oldest:
        return None, None
    try:
        made = dt.datetime.fromisoformat(oldest)
    except ValueError:
        return str(oldest), None
    if made.tzinfo is None:
        made = made.replace(tzinfo=dt.UTC)
    return str(oldest), max(0, int((now - made).total_seconds()))


def heartbeat_body(outbox: Outbox, data_dir: Path, now: dt.datetime) -> HeartbeatBody:
    status = outbox.status()
    oldest_at, oldest_age = oldest_unsynced(outbox, now)
    report = config_report(data_dir)
    return {
        "app_version": __version__,
        "pending": status.pending,
        "quarantined": status.quarantined,
        "free_disk_bytes": shutil.disk_usage(data_dir).free,
        "device_clock": format_utc(now),
        "last_error": status.last_error,
        "quarantine_reasons": list(status.quarantine_reasons),
        "oldest_unsynced_at": oldest_at,
        "oldest_unsynced_age_s": oldest_age,
        "config_version": report["config_version"],
        "config_digest": report["config_digest"],
        "config_applied_at": report["config_applied_at"],
        "config_refused": report["config_refused"],
    }


def send_heartbeat(outbox: Outbox, client: CentralClient, data_dir: Path, now: dt.datetime) -> bool:
    """Send one heartbeat; on success record when, and the clock skew head office's answer shows."""
    reply = client.heartbeat(cast(dict[str, Any], heartbeat_body(outbox, data_dir, now)))
    if not (isinstance(reply, HttpReply) and reply.status == 200):
        return False
    state: dict[str, str | None] = {"last_heartbeat_at": format_utc(now)}
    try:
        body = json.loads(reply.body)
        server_time = dt.datetime.fromisoformat(body["server_time"])
        state["clock_skew_s"] = f"{(now - server_time).total_seconds():.1f}"
    except (ValueError, KeyError, TypeError):
        pass
    with contextlib.suppress(ValueError):
        # The store's open alerts, shown on the manager screen (absent from an older central's reply).
        alerts = alerts_from_reply(json.loads(reply.body))
        if alerts is not None:
            state[ALERTS_KEY] = alerts
    outbox.set_state(state)
    return True
