"""Digests per user: every enabled user with an address gets the digests of their scope in their language
(read back from a real SMTP server), with figures equal to the aggregate API's for that scope and period;
an opted-out, disabled or address-less user gets none; `[[digest]]` tables add extra addresses; twice is
once. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from sync.central import accounts, digests
from sync.central.alert_rules import set_alerts
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from sync.central.notify import ChannelNotifier, deliver_due
from sync.central.settings import Settings
from tests.integration.sync.alert_kit import SmtpSink
from tests.integration.web.conftest import PASSWORD, AppFactory, csrf_of, ingest, sign_in, visit_items

# Tuesday 2026-12-01 00:30 in Paris: Monday's daily digest and last week's weekly one are due.
NOW = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
EXTRA = """
[[digest]]
address = "regional@example.com"
language = "en"
stores = ["south"]

[[digest]]                       # ugo gets it already, as a user: not twice
address = "UGO@example.com"
language = "fr"
stores = ["*"]
"""


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    started = SmtpSink().start()
    yield started
    started.stop()


def sections(text: str) -> dict[str, dict[str, float | None]]:
    """`== Title ==` blocks of a digest's text, each {label: figure} (`-` is None)."""
    found: dict[str, dict[str, float | None]] = {}
    current: dict[str, float | None] | None = None
    for line in text.splitlines():
        title = re.match(r"^== (.+) ==$", line)
        if title:
            current = found.setdefault(title.group(1), {})
            continue
        figure = re.match(r"^([^:]+): (-?[\d.]+|-) \(", line)
        if figure and current is not None:
            current[figure.group(1)] = None if figure.group(2) == "-" else float(figure.group(2))
    return found


def post_form(client: TestClient, page: str, url: str, data: dict[str, str]) -> int:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}).status_code


def aggregate(client: TestClient, day: str) -> dict[str, dict[str, Any]]:
    """The aggregate API's figures for the reader's scope and one day: per store and "total"."""
    figures: dict[str, dict[str, Any]] = {}
    for index in ("csat", "happy_index", "nps"):
        reply = client.get("/api/v1/aggregate", params={"from": day, "to": day, "index": index})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        for row in body["stores"]:
            figures.setdefault(row["store"], {"responses": row["responses"]})[index] = row["value"]
        figures.setdefault("total", {"responses": body["total"]["responses"]})[index] = body["total"]["value"]
    return figures


def test_each_user_gets_the_digest_of_their_scope_in_their_language_once(
    make_client: AppFactory, directory_db: CentralDB, sink: SmtpSink, tmp_path: Path
) -> None:
    db = directory_db
    accounts.add_user(
        db, "test", "sophie", "manager", PASSWORD, group="north", email="sophie@example.com", language="fr"
    )
    accounts.add_user(db, "test", "ugo", "viewer", PASSWORD, store="nice-03", email="ugo@example.com")
    accounts.add_user(db, "test", "dora", "viewer", PASSWORD, store="nice-03", email="dora@example.com")
    accounts.set_disabled(db, "test", "dora", True)
    # Opted out when created: no digest.
    added = CliRunner().invoke(
        central_main,
        [
            "add-user",
            "wendy",
            "--role",
            "viewer",
            "--store",
            "nice-03",
            "--email",
            "wendy@example.com",
            "--digests",
            "none",
            "--password-stdin",
            "--db",
            db.url,
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert accounts.get_user(db, "wendy").digests == "none"  # type: ignore[union-attr]
    alerts_file = tmp_path / "alerts.toml"
    alerts_file.write_text(EXTRA, encoding="utf-8")
    set_alerts(db, alerts_file, NOW)

    monday = "2026-11-30T{}:00+00:00"
    for store, faces, recommend in (
        ("paris-01", [5, 4, 2, 1], [10, 9, 3, 7]),
        ("lille-02", [5, 5, 3], [8, 10, 6]),
        ("nice-03", [1, 2, 4, 5, 5], [0, 4, 9, 9, 10]),
    ):
        for minute, (face, score) in enumerate(zip(faces, recommend, strict=True)):
            ingest(db, store, visit_items(store, monday.format(f"10:{minute:02d}"), face, score))

    # alice (admin, every store) opts out on the users page; sophie keeps only the daily one on her own page.
    alice = sign_in(make_client(), "alice")
    assert post_form(alice, "/admin/users", "/admin/users/alice/digests", {"digests": "none"}) == 303
    sophie = sign_in(make_client(), "sophie")
    assert post_form(sophie, "/account", "/account/digests", {"digests": "daily"}) == 303
    assert "Quotidienne seulement" in sophie.get("/account").text.split("selected>")[1][:40]
    audit = [(e["actor"], e["action"], e["target"], e["detail"]) for e in accounts.audit_entries(db, 5)]
    assert ("sophie", "user.digests", "sophie", "daily") in audit
    assert ("alice", "user.digests", "alice", "none") in audit

    assert digests.enqueue_due(db, NOW) == 4
    assert digests.enqueue_due(db, NOW + dt.timedelta(minutes=30)) == 0  # twice is once
    notifier = ChannelNotifier(Settings(db_url=db.url, smtp_url=sink.url))
    assert deliver_due(db, notifier, lambda: NOW) == 4
    assert deliver_due(db, notifier, lambda: NOW + dt.timedelta(hours=1)) == 0
    mails = {(rcpt[0], str(m["Subject"])): m.get_body(("plain",)).get_content() for rcpt, m in sink.messages}
    assert sorted(mails) == [
        ("regional@example.com", "Daily digest 2026-11-30"),
        ("sophie@example.com", "Synthèse du jour 2026-11-30"),
        ("ugo@example.com", "Daily digest 2026-11-30"),
        ("ugo@example.com", "Weekly digest 2026-11-23 - 2026-11-29"),
    ]

    # sophie's: her group's two stores and their total, in French, as the aggregate API gives them to her.
    got = sections(mails[("sophie@example.com", "Synthèse du jour 2026-11-30")])
    assert sorted(got) == [
        "Lille Centre (lille-02)",
        "Paris Rivoli (paris-01)",
        "Tous les magasins de la synthèse (2)",
    ]
    api = aggregate(sophie, "2026-11-30")
    assert sorted(api) == ["lille-02", "paris-01", "total"]
    for title, key in (
        ("Paris Rivoli (paris-01)", "paris-01"),
        ("Lille Centre (lille-02)", "lille-02"),
        ("Tous les magasins de la synthèse (2)", "total"),
    ):
        assert got[title] == {
            "Réponses": api[key]["responses"],
            "CSAT": api[key]["csat"],
            "Indice de satisfaction": api[key]["happy_index"],
            "NPS": api[key]["nps"],
        }, title
    assert got["Tous les magasins de la synthèse (2)"]["Réponses"] == 7

    # ugo's: his one store, in English.
    ugo = sign_in(make_client(), "ugo")
    got = sections(mails[("ugo@example.com", "Daily digest 2026-11-30")])
    api = aggregate(ugo, "2026-11-30")
    assert got == {
        "Nice Masséna (nice-03)": {
            "Responses": 5,
            "CSAT": api["nice-03"]["csat"],
            "Happy Index": api["nice-03"]["happy_index"],
            "NPS": api["nice-03"]["nps"],
        }
    }
    assert api["nice-03"]["csat"] == 60.0 and api["nice-03"]["nps"] == 20.0
