"""The server's settings: one object built by the CLI (or a test) and handed to `create_app`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

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
    # -- follow-ups (docs/personal-data.md) --
    # The base URL phones reach for /r/<token> (a head office on an intranet exposes only that path);
    # None: kiosks use the URL they are paired with.
    public_url: str | None = None
    # Fernet keys for contact details, newest first (MultiFernet); empty: the phone page takes comments only.
    contact_keys: tuple[str, ...] = field(default=(), repr=False)
    contact_retention_days: int = 65
    # Proxies whose X-Forwarded-For is believed (addresses or networks); none: the peer address is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Phone page requests per client address per 10 minutes, and form posts per token per hour.
    followup_limit_per_address: int = 60
    followup_limit_per_token: int = 10
    # How often the server process deletes expired contact details (0: never; `kiosk-central retention`).
    retention_every_s: float = 3600


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def settings_from_env(db_url: str, **overrides: Any) -> Settings:
    """Settings with the follow-up ones read from the environment (every server process reads the same):
    KIOSK_CENTRAL_PUBLIC_URL, KIOSK_CENTRAL_CONTACT_KEY (comma-separated, newest first),
    KIOSK_CENTRAL_TRUSTED_PROXIES (comma-separated), KIOSK_CENTRAL_CONTACT_RETENTION_DAYS.
    ValueError with a one-line reason for a value that cannot be used."""
    public_url = (os.environ.get("KIOSK_CENTRAL_PUBLIC_URL") or "").strip().rstrip("/") or None
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"KIOSK_CENTRAL_PUBLIC_URL {public_url!r} is not an http(s) base URL")
    days = os.environ.get("KIOSK_CENTRAL_CONTACT_RETENTION_DAYS") or "65"
    if not days.isdigit() or not 1 <= int(days) <= 36_500:
        raise ValueError(f"KIOSK_CENTRAL_CONTACT_RETENTION_DAYS {days!r} is not a number of days")
    settings = Settings(
        db_url=db_url,
        public_url=public_url,
        contact_keys=_split(os.environ.get("KIOSK_CENTRAL_CONTACT_KEY")),
        trusted_proxies=_split(os.environ.get("KIOSK_CENTRAL_TRUSTED_PROXIES")),
        contact_retention_days=int(days),
    )
    return replace(settings, **overrides)
