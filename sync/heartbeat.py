"""The heartbeat: app version, pending and quarantined counts, free disk and the device clock, to head office.

Sent by the `sync-heartbeat` job of `kiosk run` and at the end of `kiosk sync`, so that head office sees a
kiosk's state after a sync from the command line too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from pathlib import Path

from kiosk import __version__
from kiosk.domain.days import format_utc
from sync.alerts import STATE_KEY as ALERTS_KEY
from sync.alerts import alerts_from_reply
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.planner import HttpReply


def send_heartbeat(outbox: Outbox, client: CentralClient, data_dir: Path, now: dt.datetime) -> bool:
    """Send one heartbeat; on success record when, and the clock skew head office's answer shows."""
    status = outbox.status()
    reply = client.heartbeat(
        {
            "app_version": __version__,
            "pending": status.pending,
            "quarantined": status.quarantined,
            "free_disk_bytes": shutil.disk_usage(data_dir).free,
            "device_clock": format_utc(now),
            "last_error": status.last_error,
            "quarantine_reasons": list(status.quarantine_reasons),
        }
    )
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
