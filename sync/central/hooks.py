"""What other parts of head office do with answers as they arrive, inside the ingest transaction.

`after_insert` is called once per upload, after the new answers are inserted and before the transaction
commits, with one dict per inserted answer: store_id, device_id, session_id, question_id, value, created_at,
local_day (central's own), suspect, survey_version and kind (the kind the answer was given on). The
dashboard's rollups, the comments typed at the kiosk (follow-ups), the alerts' `answers.created` webhooks and
the alert evaluation queue hook in here, so what they hold commits or rolls back with the answers themselves
(alert rules are evaluated by the background worker from that queue: sync.central.alerts.evaluate_queued).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from sync.central.db import CentralDB


def after_insert(
    db: CentralDB, conn: Connection, inserted_rows: Sequence[dict[str, Any]], now: dt.datetime
) -> None:
    from sync.central import alerts, followups, rollups

    rows = list(inserted_rows)
    rollups.after_insert(db, conn, rows)
    followups.kiosk_comments(db, conn, rows, now)
    alerts.in_ingest(conn, rows, now)
    # Last: concurrent uploads of a store wait for each other's queue row only until the commit.
    alerts.queue_evaluation(db, conn, rows, now)
