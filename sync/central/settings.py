"""The server's settings: one object built by the CLI (or a test) and handed to `create_app`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from sync.protocol import SERVER_MAX_BATCH

DEFAULT_DB = "sqlite:///central.db"


def default_db_url() -> str:
    return os.environ.get("KIOSK_CENTRAL_DB", DEFAULT_DB)


@dataclass(frozen=True, slots=True)
class Settings:
    db_url: str = DEFAULT_DB
    max_batch: int = SERVER_MAX_BATCH
    # A request body as sent (gzip) and once inflated: beyond either the answer is 413, and inflating
    # stops at the limit, so a gzip bomb costs at most max_inflated_bytes of memory.
    max_body_bytes: int = 4 * 1024 * 1024
    max_inflated_bytes: int = 16 * 1024 * 1024
    max_export_page: int = 10_000
    # Alerts and their notifications (sync.central.alerts, sync.central.notify).
    smtp_url: str | None = field(
        default=None, repr=False
    )  # smtp://host:25 (STARTTLS if offered), smtps://u:p@h:465
    mail_from: str = "kiosk-central@localhost"
    webhook_secret: str | None = field(default=None, repr=False)
    # Where the dashboard is, for the links in messages.
    public_url: str = "http://127.0.0.1:8080"
    # Run the delivery worker and the alert ticker in this process (`serve`; tests start their own).
    background: bool = False
    alert_tick_s: float = 30.0
    delivery_poll_s: float = 1.0
    late_after_hours: float = 24.0


def alert_settings_from_env() -> dict[str, Any]:
    """The alert settings a server process takes from its environment (secrets never on a command line)."""
    env = os.environ
    found: dict[str, Any] = {}
    for name, key in (
        ("KIOSK_CENTRAL_SMTP_URL", "smtp_url"),
        ("KIOSK_CENTRAL_MAIL_FROM", "mail_from"),
        ("KIOSK_CENTRAL_WEBHOOK_SECRET", "webhook_secret"),
        ("KIOSK_CENTRAL_PUBLIC_URL", "public_url"),
    ):
        if env.get(name):
            found[key] = env[name]
    for name, key in (
        ("KIOSK_CENTRAL_ALERT_TICK_S", "alert_tick_s"),
        ("KIOSK_CENTRAL_DELIVERY_POLL_S", "delivery_poll_s"),
    ):
        if env.get(name):
            found[key] = float(env[name])
    return found
