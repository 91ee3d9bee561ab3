"""Mail over TLS, against a real SMTP server (aiosmtpd) with a certificate made here: STARTTLS when
`smtp://` finds it offered, implicit TLS with AUTH for `smtps://`, and a certificate nobody trusts is a
failed attempt retried later, never a message sent in plain text."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from kiosk.domain.days import format_utc
from sync.central.db import CentralDB, outbox
from sync.central.notify import ChannelNotifier, deliver_due
from sync.central.settings import Settings
from tests.integration.sync.alert_kit import free_port

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class Recorder:
    """Keeps each message with whether its session was encrypted and who signed in."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(
                {
                    "tls": server.transport.get_extra_info("ssl_object") is not None,
                    "login": getattr(session.auth_data, "login", None),
                    "rcpt": list(envelope.rcpt_tos),
                    "subject": str(message["Subject"]),
                }
            )
        return "250 OK"


def only_alice(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alice",
        b"s3cret p@ss",
    )
    return AuthResult(success=ok, auth_data=auth_data)


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return certificate(tmp_path, "smtp-test")


def server_context(certs: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certs)
    return context


@pytest.fixture
def starttls_server(certs: tuple[Path, Path]) -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=server_context(certs), require_starttls=True
    )
    controller.start()
    yield recorder, port
    controller.stop()


def queue_mail(db: CentralDB, to: str) -> None:
    with db.writing() as conn:
        conn.execute(
            outbox.insert().values(
                event_id="0c1e7a52-0000-4000-8000-000000000001",
                event_type="digest.daily",
                alert_id=None,
                channel="mail",
                target=f"mailto:{to}",
                secret_env=None,
                payload=json.dumps({"subject": "Daily digest", "text": "hello", "html": "<p>hello</p>"}),
                status="pending",
                attempts=0,
                created_at=format_utc(NOW),
                next_attempt_at=format_utc(NOW),
            )
        )


def outbox_state(db: CentralDB) -> tuple[str, int, str | None]:
    with db.reading() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.last_error)).one()
    return row.status, row.attempts, row.last_error


def test_smtp_uses_starttls_when_offered(
    central_db: CentralDB, certs: tuple[Path, Path], starttls_server: tuple[Recorder, int]
) -> None:
    recorder, port = starttls_server
    queue_mail(central_db, "manager@example.com")
    settings = Settings(
        db_url=central_db.url, smtp_url=f"smtp://127.0.0.1:{port}", smtp_ca_file=str(certs[0])
    )
    assert deliver_due(central_db, ChannelNotifier(settings), lambda: NOW) == 1
    # The server refuses MAIL before STARTTLS (require_starttls): it arrived, so it went encrypted.
    assert recorder.received == [
        {"tls": True, "login": None, "rcpt": ["manager@example.com"], "subject": "Daily digest"}
    ]
    assert outbox_state(central_db)[0] == "sent"


def test_an_untrusted_certificate_is_a_failed_attempt_retried_later_not_plain_text(
    central_db: CentralDB, tmp_path: Path, starttls_server: tuple[Recorder, int]
) -> None:
    recorder, port = starttls_server
    other_ca, _ = certificate(tmp_path, "someone-else")
    queue_mail(central_db, "manager@example.com")
    for ca_file in (None, str(other_ca)):  # the system's CAs alone, then another private CA
        settings = Settings(db_url=central_db.url, smtp_url=f"smtp://127.0.0.1:{port}", smtp_ca_file=ca_file)
        later = NOW + dt.timedelta(hours=1 if ca_file else 0)
        assert deliver_due(central_db, ChannelNotifier(settings), lambda at=later: at) == 1  # type: ignore[misc]
        status, _attempts, error = outbox_state(central_db)
        assert status == "pending" and error is not None and "certificate not trusted" in error
    assert outbox_state(central_db)[1] == 2
    assert recorder.received == []  # nothing went in the clear


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_is_implicit_tls_with_auth(central_db: CentralDB, certs: tuple[Path, Path]) -> None:
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context(certs),
        authenticator=only_alice,
        auth_required=True,
        # aiosmtpd only knows about its own STARTTLS; this socket is TLS from the first byte.
        auth_require_tls=False,
    )
    controller.start()
    try:
        queue_mail(central_db, "director@example.com")
        # User and password URL-encoded, as docs/alerts.md says.
        url = f"smtps://alice:s3cret%20p%40ss@127.0.0.1:{port}"
        settings = Settings(db_url=central_db.url, smtp_url=url, smtp_ca_file=str(certs[0]))
        assert deliver_due(central_db, ChannelNotifier(settings), lambda: NOW) == 1
        assert outbox_state(central_db)[0] == "sent"
        assert recorder.received == [
            {"tls": True, "login": b"alice", "rcpt": ["director@example.com"], "subject": "Daily digest"}
        ]
    finally:
        controller.stop()


def test_the_ca_file_comes_from_the_environment_and_a_missing_one_is_a_failed_attempt(
    central_db: CentralDB, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sync.central.settings import settings_from_env

    monkeypatch.setenv("KIOSK_CENTRAL_SMTP_CA_FILE", str(tmp_path / "missing.pem"))
    settings = settings_from_env(central_db.url, smtp_url="smtp://127.0.0.1:9")
    assert settings.smtp_ca_file == str(tmp_path / "missing.pem")
    queue_mail(central_db, "manager@example.com")
    assert deliver_due(central_db, ChannelNotifier(settings), lambda: NOW) == 1
    assert outbox_state(central_db) == ("pending", 1, "KIOSK_CENTRAL_SMTP_CA_FILE is not a readable PEM file")
