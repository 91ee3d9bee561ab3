"""Follow-ups and alerts made for the inbox and alerts tests: follow-ups written as the phone page writes them
(the comment, the visit's answers through the real ingest, an encrypted contact), alerts opened by the real
ticker from a `followup_open` rule."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from kiosk.domain.days import format_utc
from sync.central import alert_rules, alerts
from sync.central import followups as fu
from sync.central.db import CentralDB, followup_contacts, followups
from sync.central.personal import ContactKeys
from tests.integration.sync.followup_kit import KEY
from tests.integration.web.conftest import ingest, visit_items

RULES = """
[[rule]]
name = "followups-waiting"
kind = "followup_open"
stores = ["*"]
hours = 24
notify = []
"""


def add_followup(
    db: CentralDB,
    store: str,
    comment: str,
    *,
    hours_ago: float = 1,
    satisfaction: int = 1,
    contact: str | None = None,
    name: str | None = None,
) -> str:
    """A follow-up of a visit whose answers were synced (the score it came with), made `hours_ago`."""
    now = dt.datetime.now(dt.UTC)
    at = now - dt.timedelta(hours=hours_ago)
    items = visit_items(store, at.replace(microsecond=0).isoformat(), satisfaction, None)
    ingest(db, store, items)
    session = str(items[0]["session"])
    followup_id = str(uuid.uuid4())
    keys = ContactKeys((KEY,))
    with db.writing() as conn:
        conn.execute(
            followups.insert().values(
                id=followup_id,
                store_id=store,
                device_id="till-1",
                session_id=session,
                language="fr",
                comment=comment,
                comment_folded=fu.fold(comment),
                status="open",
                assignee=None,
                created_at=format_utc(at),
                updated_at=format_utc(at),
                token_expires_at=format_utc(at + dt.timedelta(hours=4)),
            )
        )
        if contact:
            conn.execute(
                followup_contacts.insert().values(
                    followup_id=followup_id,
                    name_enc=keys.encrypt(name) if name else None,
                    contact_enc=keys.encrypt(contact),
                    contact_kind="email" if "@" in contact else "phone",
                    contact_hash=keys.contact_hash(contact.lower()),
                    consent_version=fu.CONSENT_VERSION,
                    consent_text="I agree to be contacted.",
                    created_at=format_utc(at),
                )
            )
    return followup_id


def open_followup_alerts(db: CentralDB, tmp_path: Path) -> int:
    """Load the `followup_open` rule and run the alert ticker once: an alert per store with a follow-up
    left open over 24 hours."""
    path = tmp_path / "alerts.toml"
    path.write_text(RULES, encoding="utf-8")
    now = dt.datetime.now(dt.UTC)
    alert_rules.set_alerts(db, path, now)
    return alerts.tick(db, now)
