"""Digests: the mail read back from a real SMTP server and its figures compared with the API's scores JSON
for the same period; one mail per subscription and period."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk.config import default_config_text
from sync.central import digests, service
from sync.central.alert_rules import set_alerts
from sync.central.app import create_app
from sync.central.db import CentralDB
from sync.central.notify import ChannelNotifier, deliver_due
from sync.central.settings import Settings
from tests.integration.sync.alert_kit import SmtpSink
from tests.integration.sync.test_alert_kinds import upload

MONDAY = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC)  # Tuesday 00:30 in Paris
FILE = """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["paris-01"]

[[digest]]
address = "directrice@example.com"
language = "fr"
stores = ["paris-01"]

[[digest]]
address = "head.office@example.com"
language = "en"
period = "weekly"
stores = ["*"]
"""


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    started = SmtpSink().start()
    yield started
    started.stop()


def figure(text: str, label: str) -> float | None:
    match = re.search(rf"^{re.escape(label)}: (\S+)", text, re.MULTILINE)
    assert match, (label, text)
    return None if match.group(1) == "-" else float(match.group(1))


def test_daily_and_weekly_digests_match_the_api(
    central_db: CentralDB, sink: SmtpSink, tmp_path: Path
) -> None:
    db = central_db
    service.add_device(db, "paris-01", "till-1")
    service.set_config(
        db, "paris-01", default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    )
    rules = tmp_path / "alerts.toml"
    rules.write_text(FILE, encoding="utf-8")
    set_alerts(db, rules, MONDAY)
    sunday = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    upload(db, sunday, [5, 4, 4, 3])
    upload(db, sunday, [9, 10, 6], question="recommend")
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    upload(db, monday, [1, 2, 1, 1, 5, 4, 3])  # also opens the "queue" alert
    upload(db, monday, [3, 10, 8, 9], question="recommend")
    upload(db, monday, ["waiting", "waiting", "price"], question="reason")
    upload(db, monday, [5, 5], suspect=True)  # repeated presses: in no figure

    # Monday 23:30 in Paris: Monday is not over, Sunday's digest is due (and the weekly one of the week before).
    assert digests.enqueue_due(db, MONDAY - dt.timedelta(hours=1)) == 2
    assert digests.enqueue_due(db, MONDAY) == 1  # Monday's, now that it ended
    assert digests.enqueue_due(db, MONDAY + dt.timedelta(hours=1)) == 0
    notifier = ChannelNotifier(Settings(db_url=db.url, smtp_url=sink.url))
    assert deliver_due(db, notifier, lambda: MONDAY + dt.timedelta(hours=1)) == 3
    assert sink.count() == 3
    daily = [m for rcpt, m in sink.messages if rcpt == ["directrice@example.com"]]
    assert [str(m["Subject"]) for m in daily] == [
        "Synthèse du jour 2026-11-22",
        "Synthèse du jour 2026-11-23",
    ]

    token = service.add_admin(db, "reader")
    client = TestClient(create_app(Settings(db_url=db.url), db))
    headers = {"Authorization": f"Bearer {token}"}
    for mail, day in zip(daily, ("2026-11-22", "2026-11-23"), strict=True):
        api = client.get(f"/api/v1/stores/paris-01/scores?from={day}&to={day}", headers=headers).json()
        questions = api["days"][0]["questions"]
        text = mail.get_body(("plain",)).get_content()
        assert figure(text, "Réponses") == questions["satisfaction"]["responses"]
        assert figure(text, "CSAT") == questions["satisfaction"]["csat"]
        assert figure(text, "Indice de satisfaction") == questions["satisfaction"]["happy_index"]
        assert figure(text, "NPS") == questions["recommend"]["nps"]
        assert mail.get_body(("html",)) is not None
    monday_text = daily[1].get_body(("plain",)).get_content()
    assert "Principales raisons: Temps d'attente (2), Prix (1)" in monday_text
    assert "Alertes ouvertes: 4 of 4 answers unhappy in the last 15 minutes at Paris Rivoli" in monday_text
    assert "(période précédente 4)" in monday_text  # Sunday's 4 responses

    weekly = [m for rcpt, m in sink.messages if rcpt == ["head.office@example.com"]]
    assert [str(m["Subject"]) for m in weekly] == ["Weekly digest 2026-11-16 - 2026-11-22"]
    api = client.get("/api/v1/stores/paris-01/scores?from=2026-11-16&to=2026-11-22", headers=headers).json()
    text = weekly[0].get_body(("plain",)).get_content()
    assert (
        figure(text, "Responses")
        == sum(d["questions"]["satisfaction"]["responses"] for d in api["days"])
        == 4
    )
    assert figure(text, "CSAT") == api["days"][-1]["questions"]["satisfaction"]["csat"]  # one day had answers
