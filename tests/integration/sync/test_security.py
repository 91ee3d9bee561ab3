"""Security review, as tests: tokens, store isolation, admin endpoints, the PIN, file modes, TLS, personal
data and secrets in logs. docs/reliability.md (part 7) has the findings."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from click.testing import CliRunner
from sqlalchemy import select

from kiosk.cli import main as kiosk_main
from kiosk.config import load_config
from kiosk.domain.survey import Kind
from kiosk.pin import load_pin, save_pin
from kiosk.ui.presenters import PinOutcome, PinPad
from sync.central import security, service
from sync.central.app import create_app
from sync.central.db import CentralDB, admins, answers, devices
from sync.central.settings import Settings
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import Pairing, PairingError, load_pairing, save_pairing
from sync.planner import HttpReply, TransportFailure
from sync.protocol import ANSWER_FIELDS, CONFIG_PATH, HEARTBEAT_PATH, UPLOAD_PATH, upload_body
from sync.uploader import drain
from tests.integration.sync.chaos import CentralProcess
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill
from tests.integration.sync.test_upload import START, sync_once


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- tokens -----------------------------------------------------------------------------------------------


def test_tokens_are_random_256_bit_and_stored_only_as_a_digest(central_db: CentralDB) -> None:
    tokens = [security.new_token() for _ in range(2000)]
    assert len({t.token for t in tokens}) == len({t.token_id for t in tokens}) == 2000
    for token in tokens[:50]:
        token_id, secret = token.token.split(".")
        assert len(secret) >= 43  # token_urlsafe(32): 32 random bytes, 256 bits
        assert token.token_hash == security.digest(secret) and secret not in token.token_hash
    device = service.add_device(central_db, "paris-01", "till-1")
    admin = service.add_admin(central_db, "hq")
    with central_db.reading() as conn:
        stored = [tuple(map(str, row)) for table in (devices, admins) for row in conn.execute(select(table))]
    dump = json.dumps(stored)
    for token in (device, admin):
        token_id, secret = token.split(".")
        assert token_id in dump  # the id finds the row
        assert secret not in dump and token not in dump
        assert security.digest(secret) in dump


def test_token_check_is_constant_time_and_exact(
    server: LiveServer, central_db: CentralDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = service.add_device(central_db, "paris-01", "till-1")
    token_id, secret = device.split(".")
    calls: list[tuple[str, str]] = []
    real = security.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    url = server.url + HEARTBEAT_PATH
    assert requests.post(url, json={}, headers=auth(device), timeout=10).status_code == 200
    assert calls, "the secret was not compared with hmac.compare_digest"
    wrong = [
        f"{token_id}.{secret[:-1]}",
        f"{token_id}.{secret}x",
        f"{token_id}.{secret.upper()}",
        f"{token_id}x.{secret}",
        secret,
        f".{secret}",
        f"{token_id}.",
        "",
        "x" * 5000,
    ]
    for token in wrong:
        response = requests.post(url, json={}, headers=auth(token), timeout=10)
        assert response.status_code == 401, token
        assert secret not in response.text
    service.revoke_device(central_db, "paris-01", "till-1")
    assert requests.post(url, json={}, headers=auth(device), timeout=10).status_code == 401


# -- store isolation and admin endpoints ------------------------------------------------------------------


def test_a_device_cannot_write_or_read_another_store(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    paris = new_kiosk("paris-01", "till-1", url=server.url)
    lyon = new_kiosk("lyon-02", "till-1", url=server.url)
    for kiosk in (paris, lyon):
        service.set_config(central_db, kiosk.store_id, (kiosk.data_dir / "kiosk.toml").read_text())
    with paris.opened() as store:
        fill(store, 30, START, seed=1)
    assert sync_once(paris).ok
    lyon_token = load_pairing(lyon.data_dir).token
    other_device = service.add_device(central_db, "lyon-02", "till-2")
    item = {
        "id": "0b5e8f1e-7a0a-4d8e-9a53-2f0d1c5a9e11",
        "session": "s",
        "question": "satisfaction",
        "value": "4",
        "created_at": "2026-11-24T09:59:58.123Z",
        "local_day": "2026-11-24",
        "language": "fr",
        "survey_version": "v",
        "suspect": False,
    }
    for store_id, device_id in (("paris-01", "till-1"), ("lyon-02", "till-2"), ("paris-01", "till-2")):
        body = upload_body(store_id, device_id, "2026-11-24T10:00:00.000Z", [item])
        response = requests.post(server.url + UPLOAD_PATH, json=body, headers=auth(lyon_token), timeout=10)
        assert response.status_code == 403, (store_id, device_id)
    with central_db.reading() as conn:
        assert conn.execute(select(answers.c.id).where(answers.c.id == item["id"])).first() is None
    # Its own store's configuration only, whatever it asks for.
    for token, store_id in ((lyon_token, "lyon-02"), (other_device, "lyon-02")):
        response = requests.get(server.url + CONFIG_PATH, headers=auth(token), timeout=10)
        assert response.status_code == 200 and f'id = "{store_id}"' in response.text
        assert "paris-01" not in response.text
    # No head-office read with a device token.
    for path in ("/api/v1/stores", "/api/v1/stores/paris-01/scores", "/api/v1/stores/paris-01/answers"):
        response = requests.get(
            server.url + path, params={"from": "2026-11-20", "to": "2026-11-24"}, headers=auth(lyon_token)
        )
        assert response.status_code == 403, path
        assert "paris" not in response.text.replace("paris-01/", "")


def test_every_head_office_endpoint_needs_an_admin_token(server: LiveServer, central_db: CentralDB) -> None:
    """Discovered from the OpenAPI, so a new endpoint is covered without editing this test."""
    device = service.add_device(central_db, "paris-01", "till-1")
    admin = service.add_admin(central_db, "hq")
    token_id, secret = admin.split(".")
    old_admin = admin
    paths = [p for p in server.app.openapi()["paths"] if p.startswith("/api/v1/stores")]
    assert len(paths) >= 3
    headers_cases = {
        "no token": {},
        "not bearer": {"Authorization": f"Basic {admin}"},
        "device token": auth(device),
        "wrong secret": auth(f"{token_id}.{secret[::-1]}"),
    }
    for template in paths:
        path = template.replace("{store_id}", "paris-01")
        for name, headers in headers_cases.items():
            response = requests.get(server.url + path, headers=headers, timeout=10)
            assert response.status_code in (401, 403), (path, name, response.status_code)
        response = requests.get(
            server.url + path, headers=auth(admin), params={"from": "2026-11-24", "to": "2026-11-24"}
        )
        assert response.status_code in (200, 404), (path, response.text)
    # A new token for the same name replaces the old one.
    service.add_admin(central_db, "hq")
    assert requests.get(server.url + "/api/v1/stores", headers=auth(old_admin), timeout=10).status_code == 403


# -- the manager PIN --------------------------------------------------------------------------------------


def test_pin_is_scrypt_hashed_salted_private_and_locks_out(tmp_path: Path) -> None:
    path = save_pin(tmp_path, "482916")
    assert path.stat().st_mode & 0o777 == 0o600
    stored = json.loads(path.read_text())
    assert stored["scheme"] == "scrypt" and stored["n"] >= 2**14 and len(bytes.fromhex(stored["salt"])) >= 16
    assert "482916" not in path.read_text()
    again = json.loads(save_pin(tmp_path / ".." / tmp_path.name, "482916").read_text())
    assert again["salt"] != stored["salt"] and again["hash"] != stored["hash"]  # salted
    pin = load_pin(tmp_path)
    assert pin is not None
    pad = PinPad(verify=pin.matches)
    now = 1000.0
    for attempt in range(5):
        for digit in "111111":
            pad.press(digit, now)
        outcome = pad.submit(now)
        assert outcome is (PinOutcome.LOCKED if attempt == 4 else PinOutcome.WRONG)
    for digit in "482916":
        pad.press(digit, now + 1)
    assert pad.submit(now + 1) is PinOutcome.LOCKED  # the right PIN during the lockout: refused
    for digit in "482916":
        pad.press(digit, now + 61)
    assert pad.submit(now + 61) is PinOutcome.ACCEPTED


# -- file modes -------------------------------------------------------------------------------------------


def test_token_and_pin_files_are_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "kiosk"
    old = os.umask(0)
    try:
        args = ["--data-dir", str(data_dir)]
        assert (
            runner.invoke(kiosk_main, ["init", "--store-id", "s", "--device-id", "d", *args]).exit_code == 0
        )
        # A pairing file left world-readable by hand is replaced by a private one.
        (data_dir / "central.json").write_text("{}")
        (data_dir / "central.json").chmod(0o644)
        result = runner.invoke(
            kiosk_main, ["pair", "http://127.0.0.1:9", "--token-stdin", "--offline", *args], input="abc.def\n"
        )
        assert result.exit_code == 0, result.output
        assert (data_dir / "central.json").stat().st_mode & 0o777 == 0o600
        result = runner.invoke(kiosk_main, ["set-pin", *args], input="2468\n2468\n")
        assert result.exit_code == 0, result.output
        assert (data_dir / "manager-pin.json").stat().st_mode & 0o777 == 0o600
        assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]
    finally:
        os.umask(old)


def test_plain_http_is_refused_except_to_loopback(tmp_path: Path) -> None:
    for url in ("http://central.example.com", "http://10.0.0.5:8080", "ftp://x", "https://"):
        with pytest.raises(PairingError):
            save_pairing(tmp_path, Pairing(url, "a.b"))
    save_pairing(tmp_path, Pairing("http://10.0.0.5:8080", "a.b", allow_http=True))
    save_pairing(tmp_path, Pairing("http://[::1]:8080", "a.b"))


# -- TLS --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(central_db: CentralDB, self_signed: tuple[Path, Path]) -> Iterator[str]:
    cert, key = self_signed
    config = uvicorn.Config(
        create_app(Settings(db_url=central_db.url), central_db),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_tls_is_verified_by_default_and_a_ca_bundle_is_honoured(
    https_server: str,
    self_signed: tuple[Path, Path],
    central_db: CentralDB,
    new_kiosk: KioskFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    token = service.add_device(central_db, "paris-01", "till-1")
    default = CentralClient(Pairing(https_server, token), timeout=(2, 5))
    assert default.session.verify is True
    reply = default.heartbeat({})
    assert isinstance(reply, TransportFailure) and "TLS failure" in reply.message, reply
    default.close()
    cert = str(self_signed[0])
    trusted = CentralClient(Pairing(https_server, token, ca_bundle=cert), timeout=(2, 5))
    reply = trusted.heartbeat({})
    assert isinstance(reply, HttpReply) and reply.status == 200
    trusted.close()
    # End to end through the CLI: pairing without the bundle is refused (the certificate named), with it the
    # pairing is checked and the answers are synced.
    kiosk = new_kiosk("paris-01", "till-1", url=https_server)
    with kiosk.opened() as store:
        fill(store, 10, START)
    runner = CliRunner()
    args = ["--data-dir", str(kiosk.data_dir), "--token-stdin"]
    token = load_pairing(kiosk.data_dir).token + "\n"
    (kiosk.data_dir / "central.json").unlink()
    refused = runner.invoke(kiosk_main, ["pair", https_server, *args], input=token)
    assert refused.exit_code == 2 and "certificate:" in refused.stderr, refused.output
    assert not (kiosk.data_dir / "central.json").exists()
    paired = runner.invoke(kiosk_main, ["pair", https_server, "--ca-bundle", cert, *args], input=token)
    assert paired.exit_code == 0, paired.output
    synced = runner.invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert synced.exit_code == 0, synced.output


# -- personal data ----------------------------------------------------------------------------------------


def test_no_personal_data_is_collected_by_default(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path)]
    assert runner.invoke(kiosk_main, ["init", "--store-id", "s", "--device-id", "d", *args]).exit_code == 0
    config = load_config(tmp_path / "kiosk.toml")
    # No free text by default: every answer of the default survey is a face, a score or one of fixed options
    # (a typed comment, the `text` kind, is there only when a store's kiosk.toml asks for it).
    assert {q.kind for q in config.survey.questions} <= set(Kind) - {Kind.TEXT}
    with sqlite3.connect(tmp_path / "kiosk.db") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(answers)")]
    assert columns == [
        "id",
        "session_id",
        "question_id",
        "value",
        "created_at",
        "local_day",
        "language",
        "survey_version",
        "suspect",
        "synced_at",
        "kind",
        "device_id",
    ]
    assert [wire for _, wire in ANSWER_FIELDS] == [
        "id",
        "session",
        "question",
        "value",
        "created_at",
        "local_day",
        "language",
        "survey_version",
        "suspect",
    ]
    # The visit id is random (uuid4): it links the answers of one visit, never a person or a device.
    result = runner.invoke(kiosk_main, ["record", "satisfaction", "4", *args])
    session = re.search(r"visit ([0-9a-f-]{36})", result.output)
    assert session and session.group(1)[14] == "4"


# -- secrets in logs --------------------------------------------------------------------------------------


def test_logs_and_outputs_hold_no_token_and_no_pin(
    new_kiosk: KioskFactory,
    central_db: CentralDB,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """`kiosk-central serve` (a subprocess, its default logging: access log included) and the kiosk side in
    this process at DEBUG for every logger (urllib3, sqlalchemy with its parameters, ...)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    log = tmp_path / "central.log"
    central = CentralProcess(central_db.url, log=log)
    central.start()
    try:
        kiosk = new_kiosk("paris-01", "till-1", url=central.url)
        token = load_pairing(kiosk.data_dir).token
        secret = token.split(".")[1]
        pin = "739164"
        save_pin(kiosk.data_dir, pin)
        with kiosk.opened() as store:
            fill(store, 50, START)
        runner = CliRunner()
        args = ["--data-dir", str(kiosk.data_dir)]
        outputs = [runner.invoke(kiosk_main, ["sync", *args]).output]
        # A PIN check, wrong then right, as the manager screen does it.
        stored = load_pin(kiosk.data_dir)
        assert stored is not None
        pad = PinPad(verify=stored.matches)
        for attempt in ("000000", pin):
            for digit in attempt:
                pad.press(digit, 0.0)
            pad.submit(0.0)
        # Failures that record errors: a wrong token, then a revoked one (401).
        with kiosk.opened() as store:
            fill(store, 5, START.replace(day=21), seed=9)
        client = CentralClient(Pairing(central.url, token + "x"), timeout=(2, 5))
        with kiosk.opened() as store:
            drain(Outbox(store), client, "paris-01", "till-1")
        client.close()
        service.revoke_device(central_db, "paris-01", "till-1")
        outputs.append(runner.invoke(kiosk_main, ["sync", *args]).output)
        outputs.append(runner.invoke(kiosk_main, ["status", "--json", *args]).output)
        outputs.append(runner.invoke(kiosk_main, ["status", *args]).output)
        outputs.append(runner.invoke(kiosk_main, ["doctor", *args]).output)
    finally:
        central.stop()
    with sqlite3.connect(kiosk.data_dir / "kiosk.db") as db:
        state = json.dumps(db.execute("SELECT * FROM sync_state").fetchall())
    assert "401" in state or "revoked" in state  # the failures were recorded...
    server_log = log.read_text()
    assert "POST /api/v1/device/answers" in server_log and " 401" in server_log  # ...and logged
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy") for r in caplog.records)
    haystacks = {
        "logs": caplog.text,
        "server log": server_log,
        "cli": "\n".join(outputs),
        "sync_state": state,
    }
    for name, text in haystacks.items():
        for needle in (token, secret, pin):
            assert needle not in text, f"{needle!r} in {name}"


# -- redirects --------------------------------------------------------------------------------------------


def test_the_kiosk_follows_no_redirect(tmp_path: Path) -> None:
    """A captive portal or a hijacked DNS name answering 307/308 got the answers (and, on the same host,
    the token) re-sent to wherever it pointed: requests follows redirects by default. Now a redirect is a
    failure like any other non-API answer, and nothing is sent elsewhere."""
    import http.server

    received: list[tuple[str, str | None, int]] = []

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            received.append((self.path, self.headers.get("Authorization"), length))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    target = http.server.HTTPServer(("127.0.0.1", 0), Elsewhere)
    port = target.server_address[1]

    class Redirect(Elsewhere):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{port}/collect")
            self.send_header("Content-Length", "0")
            self.end_headers()

    portal = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    for server in (target, portal):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = CentralClient(Pairing(f"http://127.0.0.1:{portal.server_address[1]}", "abc.secret"))
        reply = client.upload(upload_body("s", "d", "2026-11-24T10:00:00.000Z", []))
        client.close()
    finally:
        for server in (target, portal):
            server.shutdown()
    assert received == []
    assert isinstance(reply, HttpReply) and reply.status == 307
