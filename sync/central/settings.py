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
    # Signs session cookies and CSRF tokens: the same in every server process (KIOSK_CENTRAL_SECRET_KEY,
    # else a key file made once next to a SQLite database; see `secret_key_for`).
    secret_key: str = ""
    # Set the Secure flag on cookies even when the request looks like plain HTTP (a TLS proxy in front
    # that does not say so); behind one that sends X-Forwarded-Proto, uvicorn's proxy headers do it.
    secure_cookies: bool = False

    # Alerts and their notifications (sync.central.alerts, sync.central.notify).
    smtp_url: str | None = field(
        default=None, repr=False
    )  # smtp://host:25 (STARTTLS if offered), smtps://u:p@h:465
    mail_from: str = "kiosk-central@localhost"
    # A PEM file of certificates trusted for the SMTP server besides the system's (a private CA).
    smtp_ca_file: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    # Where the dashboard is, for the links in messages (the phone pages' public URL is another setting).
    dashboard_url: str = "http://127.0.0.1:8080"
    # Run the delivery worker and the alert ticker in this process (`serve`; tests start their own).
    background: bool = False
    alert_tick_s: float = 30.0
    delivery_poll_s: float = 1.0
    late_after_hours: float = 24.0

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


SECRET_ENV = "KIOSK_CENTRAL_SECRET_KEY"


class SecretKeyMissing(RuntimeError):
    pass


def secret_key_for(db_url: str) -> str:
    """The key that signs sessions: $KIOSK_CENTRAL_SECRET_KEY, else (SQLite only) the file `DB.key` next to
    the database, made once with mode 0600. PostgreSQL servers may be several: they must share a key."""
    import secrets
    from pathlib import Path

    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        if len(from_env) < 32:
            raise SecretKeyMissing(f"{SECRET_ENV} must be at least 32 characters")
        return from_env
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or db_url == prefix or ":memory:" in db_url:
        raise SecretKeyMissing(
            f"set {SECRET_ENV} (the same random text of 32+ characters in every server process)"
        )
    path = Path(db_url[len(prefix) :] + ".key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="ascii").strip()


def alert_settings_from_env() -> dict[str, Any]:
    """The alert settings a server process takes from its environment (secrets never on a command line)."""
    env = os.environ
    found: dict[str, Any] = {}
    for name, key in (
        ("KIOSK_CENTRAL_SMTP_URL", "smtp_url"),
        ("KIOSK_CENTRAL_MAIL_FROM", "mail_from"),
        ("KIOSK_CENTRAL_SMTP_CA_FILE", "smtp_ca_file"),
        ("KIOSK_CENTRAL_WEBHOOK_SECRET", "webhook_secret"),
        ("KIOSK_CENTRAL_DASHBOARD_URL", "dashboard_url"),
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


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def settings_from_env(db_url: str, **overrides: Any) -> Settings:
    """Settings read from the environment (every server process reads the same): the alert ones
    (`alert_settings_from_env`), KIOSK_CENTRAL_SECURE_COOKIES, KIOSK_CENTRAL_PUBLIC_URL, KIOSK_CENTRAL_CONTACT_KEY (comma-separated, newest first),
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
        secure_cookies=bool(os.environ.get("KIOSK_CENTRAL_SECURE_COOKIES")),
        **alert_settings_from_env(),
        public_url=public_url,
        contact_keys=_split(os.environ.get("KIOSK_CENTRAL_CONTACT_KEY")),
        trusted_proxies=_split(os.environ.get("KIOSK_CENTRAL_TRUSTED_PROXIES")),
        contact_retention_days=int(days),
    )
    return replace(settings, **overrides)
