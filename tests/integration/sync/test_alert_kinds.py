"""Each rule kind through central's own ingest and ticker (no network): positive share, volume (too few while
open, a storm), device silent, index below, muting, repeated presses, hand closing and API errors."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kiosk.config import default_config_text
from sync.central import alerts, service
from sync.central.alert_rules import set_alerts
from sync.central.app import create_app
from sync.central.db import CentralDB, alert_queue, outbox
from sync.central.service import DeviceIdentity
from sync.central.settings import Settings

TILL = DeviceIdentity("paris-01", "till-1")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(central_db: CentralDB) -> CentralDB:
    service.add_device(central_db, "paris-01", "till-1")
    service.set_config(
        central_db, "paris-01", default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    )
    return central_db


def rules(db: CentralDB, tmp_path: Path, text: str, now: dt.datetime = NOW) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    set_alerts(db, path, now)


def upload(
    db: CentralDB,
    at: dt.datetime,
    values: list[int],
    question: str = "satisfaction",
    suspect: bool = False,
    spacing_s: float = 30,
    evaluate: bool = True,
) -> None:
    items: list[dict[str, Any]] = []
    for index, value in enumerate(values):
        created = at + dt.timedelta(seconds=index * spacing_s)
        items.append(
            {
                "id": str(uuid.uuid4()),
                "created_at": service.format_utc(created),
                "local_day": created.astimezone(dt.timezone(dt.timedelta(hours=1))).date().isoformat(),
                "question": question,
                "language": "fr",
                "suspect": suspect,
                "session": str(uuid.uuid4()),
                "value": str(value),
                "survey_version": "v1",
            }
        )
    now = at + dt.timedelta(seconds=len(values) * spacing_s)
    result = service.ingest(db, TILL, items, now)
    assert len(result.accepted) == len(values)
    # The upload only queued the store; the server's worker evaluates it (here, at once, at the same time).
    if evaluate:
        alerts.evaluate_queued(db, now)


def opened(db: CentralDB, status: str | None = None) -> list[dict[str, Any]]:
    return alerts.list_alerts(db, "paris-01", status)


def messages(db: CentralDB) -> list[tuple[str, str]]:
    with db.reading() as conn:
        return [
            (r.event_type, r.channel)
            for r in conn.execute(select(outbox.c.event_type, outbox.c.channel).order_by(outbox.c.seq))
        ]


def test_praise_and_repeated_presses(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "praise"
kind = "positive_share"
question = "satisfaction"
share = 0.75
min_answers = 4
stores = ["*"]
notify = ["mailto:team@example.com"]
""",
    )
    # A child pressing the green face: repeated presses count for nothing.
    upload(store, NOW, [5, 5, 5, 5, 5], suspect=True)
    assert opened(store) == []
    upload(store, NOW + dt.timedelta(minutes=2), [5, 4, 5, 1])
    found = opened(store)
    assert len(found) == 1 and found[0]["summary"].startswith(
        "3 of 4 answers happy in the last 15 minutes at Paris Rivoli"
    )
    assert messages(store) == [("alert.opened", "mail")]


def test_volume_too_few_while_open_and_a_storm(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "quiet"
kind = "volume"
window_minutes = 60
fewer_than = 3
clear_minutes = 15
stores = ["paris-01"]

[[rule]]
name = "storm"
kind = "volume"
window_minutes = 5
more_than = 6
stores = ["paris-01"]
clear_minutes = 0
""",
    )
    upload(store, NOW, [4, 4, 5, 3])
    assert opened(store) == []
    # An hour later nothing came: the ticker opens "quiet".
    alerts.tick(store, NOW + dt.timedelta(minutes=70))
    assert [a["rule"] for a in opened(store, "open")] == ["quiet"]
    assert "fewer than 3" in opened(store, "open")[0]["summary"]
    # A storm: 8 answers in 4 minutes opens "storm"; answers coming back close "quiet" after its clear time.
    upload(store, NOW + dt.timedelta(minutes=75), [3] * 8)
    assert sorted(a["rule"] for a in opened(store, "open")) == ["quiet", "storm"]
    alerts.tick(store, NOW + dt.timedelta(minutes=85))
    alerts.tick(store, NOW + dt.timedelta(minutes=120))
    assert [a["rule"] for a in opened(store, "open")] == []


def test_mute_keeps_a_rule_quiet_on_its_days(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["paris-01"]
mute = [{ from = 2026-11-24, to = 2026-11-24 }]
""",
    )
    upload(store, NOW, [1, 1, 2, 1])
    assert opened(store) == []
    upload(store, NOW + dt.timedelta(days=1), [1, 1, 2, 1])
    assert len(opened(store)) == 1


def test_silent_kiosk_during_opening_hours(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "silent"
kind = "device"
check = "silent"
minutes = 30
stores = ["*"]
notify = ["https://crm.example.com/hook"]
""",
    )
    upload(store, NOW, [4])
    seen = NOW + dt.timedelta(seconds=30)
    # ingest marked the device seen "now" (the batch's arrival); the ticker looks 45 minutes later.
    alerts.tick(store, seen + dt.timedelta(minutes=10))
    assert opened(store) == []
    alerts.tick(store, seen + dt.timedelta(minutes=45))
    found = opened(store, "open")
    assert len(found) == 1 and found[0]["summary"].startswith("till-1 not seen for 45 minutes")
    assert messages(store) == [("alert.opened", "webhook")]
    # The kiosk comes back: closed once clear for the rule's clear time (15 minutes by default).
    upload(store, seen + dt.timedelta(minutes=50), [4])
    alerts.tick(store, seen + dt.timedelta(minutes=52))
    alerts.tick(store, seen + dt.timedelta(minutes=70))
    assert opened(store, "open") == []
    assert messages(store)[-1] == ("alert.closed", "webhook")


def test_nps_below_a_value_today(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "nps"
kind = "index_below"
index = "nps"
below = 0
min_answers = 5
stores = ["*"]
""",
    )
    upload(store, NOW, [10, 9, 3, 2, 1], question="recommend")
    found = opened(store)
    assert len(found) == 1 and found[0]["summary"] == "NPS -20.0 today at Paris Rivoli, below 0 (5 responses)"
    assert json.loads(json.dumps(found[0]["figures"]))["value"] == -20.0


def test_acknowledge_and_close_through_the_api(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["paris-01"]
notify = ["mailto:manager@example.com", "https://crm.example.com/hook"]
""",
    )
    now = service.now_utc()
    upload(store, now - dt.timedelta(minutes=5), [1, 2, 1, 1])
    alert_id = opened(store)[0]["id"]
    token = service.add_admin(store, "regional")
    client = TestClient(create_app(Settings(db_url=store.url), store))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.post("/api/v1/alerts/nope/ack", json={"comment": "x"}, headers=headers).status_code == 404
    assert client.get("/api/v1/alerts?status=bogus", headers=headers).status_code == 422
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers=headers).status_code == 422
    ack = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "on it"}, headers=headers)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    again = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "me too"}, headers=headers)
    assert again.status_code == 409 and "regional" in again.json()["detail"]
    closed = client.post(f"/api/v1/alerts/{alert_id}/close", json={"comment": "queue gone"}, headers=headers)
    assert closed.status_code == 200 and closed.json()["closed_by"] == "regional: queue gone"
    assert client.post(f"/api/v1/alerts/{alert_id}/close", headers=headers).status_code == 409
    # Opened: mail and webhook; acknowledged: webhook only; closed: both.
    assert messages(store) == [
        ("alert.opened", "mail"),
        ("alert.opened", "webhook"),
        ("alert.acknowledged", "webhook"),
        ("alert.closed", "mail"),
        ("alert.closed", "webhook"),
    ]
    # Closed by hand, the rule may open a new alert when it fires again.
    upload(store, now - dt.timedelta(minutes=1), [1, 1])
    assert len(opened(store, "open")) == 1


def test_a_second_opening_of_the_same_rule_and_store_is_refused_by_the_database(
    store: CentralDB, tmp_path: Path
) -> None:
    # What two server processes evaluating the same store at once would do: both decide to open.
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["paris-01"]
notify = ["mailto:manager@example.com"]
""",
    )
    upload(store, NOW, [1, 1, 2, 1])
    assert len(messages(store)) == 1
    with store.reading() as conn:
        rule = alerts.load_rules(conn)[0]
        view = alerts._store_view(conn, "paris-01", NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1))
    verdict = alerts.Verdict(True, NOW + dt.timedelta(minutes=2), {"matching": 4}, "again")
    with store.writing() as conn:
        view.conn = conn
        assert not alerts._open(
            store, conn, view, rule, verdict, NOW + dt.timedelta(minutes=3), alerts.LATE_AFTER
        )
    assert len(opened(store)) == 1 and len(messages(store)) == 1


def queue(db: CentralDB) -> list[tuple[str, str, str, str]]:
    with db.reading() as conn:
        return [
            (r.store_id, r.slot, r.first_at, r.last_at)
            for r in conn.execute(select(alert_queue).order_by(alert_queue.c.slot))
        ]


def test_uploads_queue_their_store_once_and_a_dead_workers_claim_is_evaluated_again(
    store: CentralDB, tmp_path: Path
) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["*"]
notify = ["mailto:team@example.com"]
""",
    )
    # Two uploads before any worker runs: one row for the store, widened to both batches' answers. A batch of
    # repeated presses queues nothing (they never count).
    upload(store, NOW, [1, 1], evaluate=False)
    upload(store, NOW - dt.timedelta(minutes=5), [1, 2], spacing_s=60, evaluate=False)
    upload(store, NOW + dt.timedelta(minutes=3), [5, 5, 5], suspect=True, evaluate=False)
    first, last = (
        service.format_utc(NOW - dt.timedelta(minutes=5)),
        service.format_utc(NOW + dt.timedelta(seconds=30)),
    )
    assert queue(store) == [("paris-01", "pending", first, last)]
    assert opened(store) == []
    # A worker claimed it and died (a process id that is no process) before evaluating: taken again.
    with store.writing() as conn:
        conn.execute(update(alert_queue).values(slot="999999999.dead", claimed_at=service.format_utc(NOW)))
    assert alerts.evaluate_queued(store, NOW + dt.timedelta(minutes=2)) == 1
    found = opened(store)
    assert len(found) == 1 and found[0]["summary"].startswith("4 of 4 answers unhappy")
    assert queue(store) == [] and messages(store) == [("alert.opened", "mail")]
    # Nothing queued: nothing evaluated again.
    assert alerts.evaluate_queued(store, NOW + dt.timedelta(minutes=3)) == 0


def test_a_device_holding_an_unsent_answer_too_long(store: CentralDB, tmp_path: Path) -> None:
    rules(
        store,
        tmp_path,
        """
[[rule]]
name = "unsent"
kind = "device"
check = "unsynced"
unsynced_minutes = 120
stores = ["*"]
notify = ["https://crm.example.com/hook"]
""",
    )
    # The heartbeat says its oldest unsent answer is 30 minutes old (by the device's clock, which is an
    # hour off: central keeps its own time minus that age).
    body = {
        "pending": 12,
        "oldest_unsynced_age_s": 1800,
        "device_clock": service.format_utc(NOW + dt.timedelta(hours=1)),
    }
    service.heartbeat(store, TILL, body, NOW)
    alerts.tick(store, NOW + dt.timedelta(minutes=60))
    assert opened(store) == []
    alerts.tick(store, NOW + dt.timedelta(minutes=95))
    found = opened(store, "open")
    assert len(found) == 1 and found[0]["summary"].startswith(
        "till-1 holds an answer not sent for 125 minutes"
    )
    # Everything sent: the next heartbeat reports nothing pending and the alert clears.
    service.heartbeat(store, TILL, {"pending": 0}, NOW + dt.timedelta(minutes=100))
    alerts.tick(store, NOW + dt.timedelta(minutes=101))
    alerts.tick(store, NOW + dt.timedelta(minutes=120))
    assert opened(store, "open") == []
