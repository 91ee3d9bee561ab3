"""Head office's open alerts for this store, as the kiosk last heard them (the seam for the alerts issue).

When a heartbeat reply carries `alerts` (a list of {"id", "rule", "opened_at", "summary"}), the heartbeat job
keeps it in sync_state under `open_alerts` (JSON); a reply without the key leaves what was kept, an empty
list clears it. The manager screen reads it from there, with no network.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

STATE_KEY = "open_alerts"
MAX_ALERTS = 20
_FIELDS = ("id", "rule", "opened_at", "summary")


def alerts_from_reply(body: Any) -> str | None:
    """The JSON to keep from a heartbeat reply's body, or None when the reply says nothing of alerts.

    Malformed entries are dropped (a string too long is cut), never raised: a heartbeat must not fail on it.
    """
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        return None
    kept = []
    for item in body["alerts"][:MAX_ALERTS]:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in _FIELDS):
            continue
        try:
            opened = dt.datetime.fromisoformat(item["opened_at"])
        except ValueError:
            continue
        if opened.tzinfo is None:
            continue
        kept.append({k: item[k][:300] for k in _FIELDS})
    return json.dumps(kept, ensure_ascii=False)


def read_open_alerts(database: Path) -> list[dict[str, str]]:
    """The kept alerts (read-only connection, for the manager screen); [] when none or unreadable."""
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM sync_state WHERE key = ?", [STATE_KEY]).fetchone()
        finally:
            conn.close()
        alerts = json.loads(row[0]) if row else []
    except (sqlite3.Error, ValueError):
        return []
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []
