"""Helpers of the follow-up tests: a device's follow-up link as a kiosk would hold it, and the phone form."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy import func, select

from sync.central import followups as fu
from sync.central import service
from sync.central.db import CentralDB, followup_contacts, followup_events, followups
from sync.central.service import DeviceIdentity
from sync.followup import FollowupLink, followup_url

KEY = "Ui2Dk4TNasuMdh3s7PSJ0Kw-t82eCkKEpf56jS3D15g="  # fixed Fernet keys for the tests
OTHER_KEY = "28mTzbOOfn7ImbZk7gwrXYmp4c5S1iXTXsnfAXQi144="


def link_for(db: CentralDB, base_url: str, store: str = "paris-01", device: str = "till-1") -> FollowupLink:
    """Register a device and give back the follow-up link its kiosk would fetch."""
    token = service.add_device(db, store, device)
    key_id, secret = fu.device_key(db, DeviceIdentity(store, device), service.now_utc())
    return FollowupLink(base_url, key_id, secret, base_url, token.partition(".")[0])


def visit_url(link: FollowupLink, language: str = "fr", now: dt.datetime | None = None) -> tuple[str, str]:
    """A new visit's id and its follow-up URL."""
    session = str(uuid.uuid4())
    return session, followup_url(link, session, language, now or service.now_utc())


def nonce_of(html: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', html)
    assert found, "the form carries a nonce"
    return found.group(1)


def counts(db: CentralDB) -> tuple[int, int, int]:
    """Follow-ups, contacts and events stored."""
    with db.reading() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (followups, followup_contacts, followup_events)
        )


def form(nonce: str, **fields: Any) -> dict[str, Any]:
    return {"nonce": nonce, "comment": "", "name": "", "contact": "", **fields}
