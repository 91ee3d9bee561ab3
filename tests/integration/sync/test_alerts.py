"""Alerts end to end: real uploads from a kiosk, the real server, mail into a real SMTP server (aiosmtpd) and
signed webhooks into a real HTTP receiver. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer
from sync.central import alerts, service
from sync.central.alert_rules import set_alerts
from sync.central.db import CentralDB, outbox
from sync.central.notify import Background, ChannelNotifier, deliver_due
from sync.central.settings import Settings
from tests.integration.sync.alert_kit import Clock, Receiver, SmtpSink, wait_for
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import KioskDir, LiveServer
from tests.integration.sync.test_upload import sync_once

SECRET = "correct horse battery staple ☃"

RULES = """\
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
share = 0.5
window_minutes = 15
min_answers = 4
stores = ["paris-01"]
notify = ["mailto:manager@example.com", "{hook}"]
"""


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    started = SmtpSink().start()
    yield started
    started.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def configure(db: CentralDB, tmp_path: Path, kiosk: KioskDir, hook: str) -> None:
    text = (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    service.set_config(db, kiosk.store_id, text)
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES.format(hook=hook), encoding="utf-8")
    set_alerts(db, rules, service.now_utc())


def unhappy_visit(kiosk: KioskDir, at: dt.datetime, face: int = 1, reason: str = "waiting") -> None:
    with kiosk.opened() as store:
        first = AnswerRecorder(store).record(NewAnswer("satisfaction", face, at))
        AnswerRecorder(store).record(
            NewAnswer("reason", reason, at + dt.timedelta(seconds=4), session_id=first.session_id)
        )


def signature_ok(received_headers: dict[str, str], body: bytes, secret: str) -> bool:
    """The receiver's side, written from the documentation (docs/alerts.md), not from our code."""
    header = received_headers["X-Kiosk-Signature"]
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > 300:
        return False
    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def outbox_rows(db: CentralDB) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_unhappy_queue_mails_once_signs_the_webhook_and_closes_on_recovery(
    server: LiveServer,
    new_kiosk: KioskFactory,
    central_db: CentralDB,
    sink: SmtpSink,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    kiosk = new_kiosk(url=server.url)
    configure(central_db, tmp_path, kiosk, receiver.url + "/hook")
    clock = Clock()
    settings = Settings(db_url=central_db.url, smtp_url=sink.url, webhook_secret=SECRET, delivery_poll_s=0.05)
    background = Background(central_db, ChannelNotifier(settings), settings, now=clock, ticker=False).start()
    admin = {"Authorization": "Bearer " + service.add_admin(central_db, "head-office")}
    try:
        now = service.now_utc()
        # Three unhappy visits: not enough answers yet.
        for minutes in (12, 9, 6):
            unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes), face=1 if minutes % 2 else 2)
        assert sync_once(kiosk).ok
        assert alerts.list_alerts(central_db, "paris-01", None) == []
        # The fourth, within 15 minutes: one alert, one mail, one webhook.
        unhappy_visit(kiosk, now - dt.timedelta(minutes=3))
        assert sync_once(kiosk).ok
        wait_for(lambda: sink.count() == 1 and receiver.count() == 1, what="the mail and the webhook")

        rcpt, mail = sink.messages[0]
        assert rcpt == ["manager@example.com"]
        summary = "4 of 4 answers unhappy in the last 15 minutes at Paris-01, top reason: waiting time"
        assert str(mail["Subject"]) == f"[Paris-01] Alert: {summary}"
        assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
        hook = receiver.requests[0]
        assert hook.path == "/hook"
        assert signature_ok(hook.headers, hook.body, SECRET)
        assert not signature_ok(hook.headers, hook.body, "another secret")
        event = json.loads(hook.body)
        assert event["type"] == "alert.opened" and event["store"]["id"] == "paris-01"
        assert event["rule"]["name"] == "queue"
        assert event["alert"]["figures"]["matching"] == 4 and event["alert"]["figures"]["answers"] == 4
        assert event["link"].endswith(f"/api/v1/alerts/{event['alert']['id']}")
        alert_id = event["alert"]["id"]

        # More unhappy answers while it is open: nothing new is written or sent.
        for minutes in (2, 1):
            unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes))
        assert sync_once(kiosk).ok
        assert outbox_rows(central_db) == 2
        listed = requests.get(f"{server.url}/api/v1/alerts?store=paris-01", headers=admin, timeout=5).json()
        assert [a["id"] for a in listed] == [alert_id] and listed[0]["status"] == "open"

        # The kiosk's heartbeat reply carries its store's open alert.
        beat = requests.post(
            f"{server.url}/api/v1/device/heartbeat",
            json={"app_version": "t"},
            headers={"Authorization": "Bearer " + kiosk_token(kiosk)},
            timeout=5,
        ).json()
        assert [(a["id"], a["summary"]) for a in beat["alerts"]] == [(alert_id, summary)]

        # Acknowledged with a comment (the webhook hears it; the manager gets no mail for it).
        bad = requests.post(
            f"{server.url}/api/v1/alerts/{alert_id}/ack", json={"comment": ""}, headers=admin, timeout=5
        )
        assert bad.status_code == 422
        ack = requests.post(
            f"{server.url}/api/v1/alerts/{alert_id}/ack",
            json={"comment": "second till opened"},
            headers=admin,
            timeout=5,
        )
        assert ack.status_code == 200 and ack.json()["acked_by"] == "head-office"
        wait_for(lambda: receiver.count() == 2, what="the acknowledgement webhook")
        acked = json.loads(receiver.requests[1].body)
        assert acked["type"] == "alert.acknowledged" and acked["alert"]["comment"] == "second till opened"
        assert acked["id"] != event["id"]

        # Recovery: the window holds nothing unhappy any more; still open after 10 minutes clear, closed
        # after 15 (the rule's clear_minutes defaults to its window).
        clock.advance(minutes=20)
        alerts.tick(central_db, clock())
        clock.advance(minutes=10)
        alerts.tick(central_db, clock())
        assert alerts.list_alerts(central_db, "paris-01", "open") != []
        clock.advance(minutes=6)
        alerts.tick(central_db, clock())
        wait_for(lambda: sink.count() == 2 and receiver.count() == 3, what="the closing mail and webhook")
        assert "Closed" in str(sink.messages[1][1]["Subject"])
        closed = json.loads(receiver.requests[2].body)
        assert closed["type"] == "alert.closed" and closed["alert"]["id"] == alert_id
        assert alerts.list_alerts(central_db, "paris-01", "open") == []
        assert alerts.list_alerts(central_db, "paris-01", "closed")[0]["closed_by"] == "condition cleared"
    finally:
        background.stop()


def kiosk_token(kiosk: KioskDir) -> str:
    from sync.pairing import load_pairing

    return load_pairing(kiosk.data_dir).token


def test_smtp_down_is_retried_later_and_a_refused_webhook_is_a_dead_letter_retried_by_hand(
    server: LiveServer,
    new_kiosk: KioskFactory,
    central_db: CentralDB,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    down = SmtpSink()  # its port is free: nothing listens there yet
    kiosk = new_kiosk(url=server.url)
    configure(central_db, tmp_path, kiosk, receiver.url + "/hook")
    clock = Clock()
    settings = Settings(db_url=central_db.url, smtp_url=down.url, webhook_secret=SECRET)
    notifier = ChannelNotifier(settings)
    admin = {"Authorization": "Bearer " + service.add_admin(central_db, "ops")}
    receiver.status = 410
    now = service.now_utc()
    for minutes in (8, 6, 4, 2):
        unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes))
    assert sync_once(kiosk).ok
    # This server runs no worker: the test is the worker (evaluate the queued upload, then deliver).
    alerts.evaluate_queued(central_db, clock())
    assert deliver_due(central_db, notifier, clock) == 2
    dead = requests.get(f"{server.url}/api/v1/outbox/dead", headers=admin, timeout=5).json()
    assert [d["channel"] for d in dead] == ["webhook"] and "410" in dead[0]["last_error"]
    # The mail is pending, due in about 30 s: nothing happens before.
    assert deliver_due(central_db, notifier, clock) == 0
    down.start()
    try:
        clock.advance(seconds=20)
        assert deliver_due(central_db, notifier, clock) == 0
        clock.advance(seconds=20)
        assert deliver_due(central_db, notifier, clock) == 1
        assert down.count() == 1
        # The receiver fixed, the dead letter retried by hand: delivered, with the same event id.
        receiver.status = 200
        retried = requests.post(
            f"{server.url}/api/v1/outbox/{dead[0]['seq']}/retry", headers=admin, timeout=5
        )
        assert retried.status_code == 200
        assert (
            requests.post(
                f"{server.url}/api/v1/outbox/{dead[0]['seq']}/retry", headers=admin, timeout=5
            ).status_code
            == 404
        )
        assert deliver_due(central_db, notifier, clock) == 1
        assert receiver.count() == 1 and json.loads(receiver.requests[0].body)["id"] == dead[0]["event_id"]
        assert deliver_due(central_db, notifier, clock) == 0 and down.count() == 1
    finally:
        down.stop()


def test_late_answers_are_recorded_not_sent(
    new_kiosk: KioskFactory, server: LiveServer, central_db: CentralDB, receiver: Receiver, tmp_path: Path
) -> None:
    kiosk = new_kiosk(url=server.url)
    configure(central_db, tmp_path, kiosk, receiver.url + "/hook")
    two_days_ago = service.now_utc() - dt.timedelta(days=2)
    for minutes in (8, 6, 4, 2):
        unhappy_visit(kiosk, two_days_ago - dt.timedelta(minutes=minutes))
    assert sync_once(kiosk).ok
    alerts.evaluate_queued(central_db, service.now_utc())  # what the server's worker does
    recorded = alerts.list_alerts(central_db, "paris-01", None)
    assert len(recorded) == 1 and recorded[0]["late"] and recorded[0]["status"] == "closed"
    assert outbox_rows(central_db) == 0


def test_apprise_urls_go_through_apprise(
    new_kiosk: KioskFactory, server: LiveServer, central_db: CentralDB, receiver: Receiver, tmp_path: Path
) -> None:
    # Apprise's own json:// scheme (not our webhook): Apprise posts its JSON to the local receiver.
    kiosk = new_kiosk(url=server.url)
    configure(central_db, tmp_path, kiosk, f"json://127.0.0.1:{receiver.port}/apprise")
    now = service.now_utc()
    for minutes in (8, 6, 4, 2):
        unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes))
    assert sync_once(kiosk).ok
    alerts.evaluate_queued(central_db, service.now_utc())  # what the server's worker does
    settings = Settings(db_url=central_db.url, smtp_url=SmtpSink().url)
    assert deliver_due(central_db, ChannelNotifier(settings, timeout_s=2), Clock()) == 2
    assert receiver.count() == 1
    sent = receiver.requests[0]
    assert sent.path == "/apprise" and "X-Kiosk-Signature" not in sent.headers
    body = json.loads(sent.body)
    assert "4 of 4 answers unhappy" in body["title"] and "Rule: queue" in body["message"]


def test_integrations_get_every_new_answer_in_signed_batches(
    new_kiosk: KioskFactory,
    server: LiveServer,
    central_db: CentralDB,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.sync.harness import fill

    kiosk = new_kiosk(url=server.url)
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        f"""
[[webhook]]
url = "{receiver.url}/crm"
secret_env = "CRM_SECRET"
events = ["answers.created"]
stores = ["paris-01"]
""",
        encoding="utf-8",
    )
    set_alerts(central_db, rules, service.now_utc())
    with kiosk.opened() as store:
        fill(store, 450, service.now_utc() - dt.timedelta(days=3))
        total = store.answer_count()
    assert sync_once(kiosk, batch_size=200).ok
    again = sync_once(kiosk)  # nothing new: no event
    assert again.ok
    notifier = ChannelNotifier(Settings(db_url=central_db.url, webhook_secret="not this one"))
    monkeypatch.setenv("CRM_SECRET", "the CRM's own")
    assert deliver_due(central_db, notifier, Clock()) == 3
    ids = []
    for request in receiver.requests:
        assert request.path == "/crm" and signature_ok(request.headers, request.body, "the CRM's own")
        event = json.loads(request.body)
        assert event["type"] == "answers.created" and event["store"]["id"] == "paris-01"
        ids += [a["id"] for a in event["answers"]]
    assert len(ids) == len(set(ids)) == total
