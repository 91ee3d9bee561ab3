"""Delivering the outbox: the notification adapter (mail through our SMTP settings, our signed webhook,
Apprise for every other service) and the worker that drains the outbox with retries and backoff.

Each outbox row is delivered by one worker: on PostgreSQL the row is taken with SELECT ... FOR UPDATE SKIP
LOCKED and stays locked until its outcome is committed, so several processes (and hosts) share the work
without sending a message twice; a process killed mid-send leaves the row pending and it is sent again
(at least once; the event id lets a webhook receiver drop a repeat). On SQLite (one server process) the
worker reads, sends, then records. A failed attempt is tried again after 30 s, 1 min, 2 min, ... (at most
6 h apart) until about a day has passed (MAX_ATTEMPTS), then the row is a dead letter, listed by the API
and retried by hand. Secrets (SMTP password, webhook keys, Apprise tokens) are never logged.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import hmac
import json
import logging
import os
import random
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, select, update

from kiosk import __version__
from kiosk.domain.days import format_utc
from sync.central import alerts, digests
from sync.central.alert_rules import Target, quiet_apprise
from sync.central.db import CentralDB, outbox
from sync.central.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 13  # 30 s doubling, capped at 6 h: the 13th failure is about 26 h after the first
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 6 * 3600.0
SIGNATURE_HEADER = "X-Kiosk-Signature"


class DeliveryError(Exception):
    """A failed attempt; `permanent` ones (a refused address, a 4xx) become dead letters at once."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    event_id: str
    event_type: str
    channel: str
    target: str
    secret_env: str | None
    payload: dict[str, Any]


class Notifier(Protocol):
    """The notification adapter handed to the worker at start-up (tests pass a fake)."""

    def send(self, message: Message) -> None: ...


def backoff(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the `attempts`-th failure: 30 s doubling, at most 6 h, +-10 % jitter."""
    delay = min(FIRST_DELAY_S * 2 ** max(attempts - 1, 0), MAX_DELAY_S)
    return dt.timedelta(seconds=delay * (rng or random).uniform(0.9, 1.1))


# -- signing -----------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Kiosk-Signature value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: recompute the HMAC over the raw body, compare in constant time, and refuse a
    timestamp more than `tolerance_s` away from its own clock (a replayed request)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- the real adapter --------------------------------------------------------------------------------------


def webhook_body(message: Message, public_url: str) -> bytes:
    """The JSON sent: the event as written in the outbox plus the dashboard link, the same bytes on every
    attempt."""
    body = dict(message.payload)
    if "alert" in body:
        body["link"] = f"{public_url.rstrip('/')}/api/v1/alerts/{body['alert'].get('id')}"
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


def subject_and_text(message: Message, public_url: str) -> tuple[str, str, str]:
    payload = message.payload
    alert = payload.get("alert", {})
    store = payload.get("store", {}).get("name") or payload.get("store", {}).get("id")
    what = {"alert.opened": "Alert", "alert.acknowledged": "Acknowledged", "alert.closed": "Closed"}.get(
        message.event_type, message.event_type
    )
    subject = f"[{store}] {what}: {alert.get('summary', '')}"[:200]
    link = f"{public_url.rstrip('/')}/api/v1/alerts/{alert.get('id')}"
    lines = [
        alert.get("summary", ""),
        "",
        f"Rule: {payload.get('rule', {}).get('name')}",
        f"Opened: {alert.get('opened_at')}",
    ]
    if message.event_type == "alert.acknowledged":
        lines.append(f"Acknowledged by {alert.get('acknowledged_by')}: {alert.get('comment')}")
    if message.event_type == "alert.closed":
        lines.append(f"Closed: {alert.get('closed_at')} ({alert.get('closed_by')})")
    lines += ["", link]
    text = "\n".join(lines)
    html = (
        "<br>\n".join(_escape(line) for line in lines[:-1])
        + f'<br>\n<a href="{_escape(link)}">{_escape(link)}</a>'
    )
    return subject, text, html


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # A webhook answered with a redirect is a failure: the body and its signature go to the URL given.
        return None


class ChannelNotifier:
    """Sends a message on its channel with the server's settings."""

    def __init__(
        self, settings: Settings, timeout_s: float = 15.0, clock: Callable[[], float] | None = None
    ) -> None:
        import time

        self.settings = settings
        self.timeout_s = timeout_s
        self.clock = clock or time.time
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, message: Message) -> None:
        if message.channel == "mail":
            self.send_mail(message)
        elif message.channel == "webhook":
            self.send_webhook(message)
        else:
            self.send_apprise(message)

    def send_mail(self, message: Message) -> None:
        if not self.settings.smtp_url:
            raise DeliveryError("KIOSK_CENTRAL_SMTP_URL is not set")
        if message.event_type.startswith("digest."):
            payload = message.payload
            subject, text, page = str(payload["subject"]), str(payload["text"]), str(payload["html"])
        else:
            subject, text, html = subject_and_text(message, self.settings.dashboard_url)
            page = f"<html><body><p>{html}</p></body></html>"
        # Headers folded only past 200 characters: Python folds a long subject before its first word, which
        # some clients show as a leading space.
        mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=200))
        mail["Subject"] = subject
        mail["From"] = self.settings.mail_from
        mail["To"] = message.target.removeprefix("mailto:")
        mail["Message-ID"] = make_msgid(idstring=message.event_id)
        mail["X-Kiosk-Event-Id"] = message.event_id
        mail.set_content(text)
        mail.add_alternative(page, subtype="html")
        url = urlsplit(self.settings.smtp_url)
        if url.scheme not in ("smtp", "smtps"):
            raise DeliveryError("KIOSK_CENTRAL_SMTP_URL must start with smtp:// or smtps://", permanent=True)
        host = url.hostname or "localhost"
        try:
            context = self.tls_context()
            if url.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, url.port or 465, timeout=self.timeout_s, context=context
                )
            else:
                client = smtplib.SMTP(host, url.port or 25, timeout=self.timeout_s)
            with client:
                client.ehlo()
                if url.scheme == "smtp" and client.has_extn("starttls"):
                    # Once offered, TLS or nothing: a failed handshake is a failed attempt, never a
                    # fallback to plain text.
                    client.starttls(context=context)
                    client.ehlo()
                if url.username:
                    client.login(unquote(url.username), unquote(url.password or ""))
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(
                f"SMTP refused the address: {_first_code(error.recipients)}", permanent=True
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {error.smtp_code}", permanent=500 <= error.smtp_code < 600) from None
        except ssl.SSLCertVerificationError as error:
            raise DeliveryError(
                f"SMTP server's TLS certificate not trusted: {error.verify_message}"
            ) from None
        except ssl.SSLError as error:
            raise DeliveryError(f"SMTP TLS failed: {error.reason}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP server unreachable: {type(error).__name__}") from None

    def tls_context(self) -> ssl.SSLContext:
        """The system's trusted certificates, plus KIOSK_CENTRAL_SMTP_CA_FILE (a private CA) when set;
        host names are always checked."""
        context = ssl.create_default_context()
        if self.settings.smtp_ca_file:
            try:
                context.load_verify_locations(cafile=self.settings.smtp_ca_file)
            except (OSError, ssl.SSLError):
                raise DeliveryError("KIOSK_CENTRAL_SMTP_CA_FILE is not a readable PEM file") from None
        return context

    def send_webhook(self, message: Message) -> None:
        name = message.secret_env
        secret = os.environ.get(name) if name else self.settings.webhook_secret
        if not secret:
            raise DeliveryError(f"no webhook secret ({name or 'KIOSK_CENTRAL_WEBHOOK_SECRET'} is not set)")
        body = webhook_body(message, self.settings.dashboard_url)
        request = urllib.request.Request(
            message.target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                # The process id tells which of several server processes sent it.
                "User-Agent": f"kiosk-central/{__version__} ({os.getpid()})",
                "X-Kiosk-Event-Id": message.event_id,
                # Each attempt's own send time: a receiver refusing old timestamps accepts a late retry.
                SIGNATURE_HEADER: sign(secret, body, int(self.clock())),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as reply:
                reply.read(65536)
        except urllib.error.HTTPError as error:
            status = error.code
            raise DeliveryError(
                f"webhook answered HTTP {status}", permanent=400 <= status < 500 and status not in (408, 429)
            ) from None
        except (OSError, ValueError) as error:
            raise DeliveryError(f"webhook unreachable: {type(error).__name__}") from None

    def send_apprise(self, message: Message) -> None:
        import apprise

        quiet_apprise()
        subject, text, _html = subject_and_text(message, self.settings.dashboard_url)
        notifier = apprise.Apprise()
        if not notifier.add(message.target):
            raise DeliveryError("Apprise does not accept this URL", permanent=True)
        if not notifier.notify(title=subject, body=text):
            raise DeliveryError(f"Apprise could not deliver to {Target(message.target).shown}")


def _first_code(recipients: dict[str, tuple[int, bytes]]) -> str:
    for code, _text in recipients.values():
        return str(code)
    return "?"


# -- the worker --------------------------------------------------------------------------------------------


def _message(row: Any) -> Message:
    return Message(
        row.seq,
        row.event_id,
        row.event_type,
        row.channel,
        row.target,
        row.secret_env,
        json.loads(row.payload),
    )


def _record(conn: Connection, row: Any, error: DeliveryError | None, now: dt.datetime) -> str:
    if error is None:
        values: dict[str, Any] = {
            "status": "sent",
            "sent_at": format_utc(now),
            "attempts": row.attempts + 1,
            "last_error": None,
        }
    else:
        attempts = row.attempts + 1
        dead = error.permanent or attempts >= MAX_ATTEMPTS
        values = {
            "status": "dead" if dead else "pending",
            "attempts": attempts,
            "last_error": str(error)[:500],
            "next_attempt_at": format_utc(now + backoff(attempts)),
        }
    conn.execute(update(outbox).where(outbox.c.seq == row.seq).values(**values))
    return str(values["status"])


def _due(now: dt.datetime) -> Any:
    return (
        select(outbox)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= format_utc(now))
        .order_by(outbox.c.next_attempt_at, outbox.c.seq)
        .limit(1)
    )


def _attempt(notifier: Notifier, row: Any) -> DeliveryError | None:
    try:
        notifier.send(_message(row))
    except DeliveryError as error:
        log.warning(
            "outbox %s (%s to %s): attempt %d failed: %s",
            row.seq,
            row.event_type,
            Target(row.target).shown,
            row.attempts + 1,
            error,
        )
        return error
    except Exception as error:  # a bug in a channel must not stop the worker
        log.exception("outbox %s: unexpected error", row.seq)
        return DeliveryError(f"unexpected error: {type(error).__name__}")
    return None


def deliver_one(db: CentralDB, notifier: Notifier, now: Callable[[], dt.datetime]) -> str | None:
    """Deliver the next due message; returns its new status, or None when nothing is due."""
    if db.is_sqlite:
        with db.reading() as conn:
            row = conn.execute(_due(now())).first()
        if row is None:
            return None
        error = _attempt(notifier, row)
        with db.writing() as conn:
            return _record(conn, row, error, now())
    with db.engine.begin() as conn:
        row = conn.execute(_due(now()).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        error = _attempt(notifier, row)
        return _record(conn, row, error, now())


def deliver_due(db: CentralDB, notifier: Notifier, now: Callable[[], dt.datetime], limit: int = 1000) -> int:
    """Deliver until nothing is due (or `limit` attempts); returns the attempts made."""
    done = 0
    while done < limit and deliver_one(db, notifier, now) is not None:
        done += 1
    return done


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Background:
    """The delivery worker, the alert evaluator (the stores uploads queued) and the alert ticker of one server
    process: daemon threads, stopped cleanly."""

    def __init__(
        self,
        db: CentralDB,
        notifier: Notifier,
        settings: Settings,
        now: Callable[[], dt.datetime] = utc_now,
        ticker: bool = True,
    ) -> None:
        self.db, self.notifier, self.settings, self.now = db, notifier, settings, now
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._evaluate = threading.Event()
        self._threads = [
            threading.Thread(target=self._deliver_loop, name="kiosk-deliver", daemon=True),
            threading.Thread(target=self._evaluate_loop, name="kiosk-alert-eval", daemon=True),
        ]
        if ticker:
            self._threads.append(
                threading.Thread(target=self._tick_loop, name="kiosk-alert-tick", daemon=True)
            )

    def start(self) -> Background:
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        """Look at the outbox now (after an ingest wrote to it) instead of at the next poll."""
        self._wake.set()

    def evaluate_soon(self) -> None:
        """Evaluate the alert queue now (an upload queued its store) instead of at the next poll."""
        self._evaluate.set()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        self._evaluate.set()
        for thread in self._threads:
            thread.join(timeout)

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due(self.db, self.notifier, self.now, limit=50)
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("delivery worker: database error")
            self._wake.wait(self.settings.delivery_poll_s)
            self._wake.clear()

    def _evaluate_loop(self) -> None:
        late = dt.timedelta(hours=self.settings.late_after_hours)
        while not self._stop.is_set():
            self._evaluate.clear()
            try:
                alerts.evaluate_queued(self.db, self.now(), late, on_opened=self._wake.set)
            except Exception:  # the database away for a moment: the queue rows stay, tried again
                log.exception("alert evaluation: error")
            self._evaluate.wait(self.settings.delivery_poll_s)

    def _tick_loop(self) -> None:
        late = dt.timedelta(hours=self.settings.late_after_hours)
        while not self._stop.wait(self.settings.alert_tick_s):
            try:
                now = self.now()
                if alerts.tick(self.db, now, late) + digests.enqueue_due(self.db, now):
                    self._wake.set()
            except Exception:
                log.exception("alert ticker: error")
