"""One store directory, one scope: the alerts' view of a store reads the directory, and the follow-up inbox,
the alerts page and their JSON APIs show a reader its scope only, contact details to admins and managers
only, with every change through a CSRF form recorded with the user's name. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.config import default_config_text
from sync.central import alerts, directory_view, service
from sync.central.db import CentralDB
from tests.integration.sync.followup_kit import KEY
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in
from tests.integration.web.inbox_kit import add_followup, open_followup_alerts

PARIS = ZoneInfo("Europe/Paris")


# -- the directory behind the alerts ------------------------------------------------------------------------


def test_the_alerts_read_the_store_directory_and_fall_back_to_the_kiosk_file(directory_db: CentralDB) -> None:
    with directory_db.reading() as conn:
        assert directory_view.store_name(conn, "paris-01") == "Paris Rivoli"  # kiosk.toml says "paris-01"
        monday_noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=PARIS)
        assert directory_view.is_open(conn, "paris-01", monday_noon)
        assert not directory_view.is_open(conn, "paris-01", monday_noon.replace(hour=8, minute=59))
        assert not directory_view.is_open(conn, "paris-01", dt.datetime(2026, 11, 29, 12, 0, tzinfo=PARIS))
        assert directory_view.is_closed_day(conn, "paris-01", dt.date(2026, 11, 29))  # sun = "closed"
        assert not directory_view.is_closed_day(conn, "paris-01", dt.date(2026, 11, 30))
        assert directory_view.closing_time(conn, "paris-01", dt.date(2026, 12, 4)) == dt.time(
            20, 0
        )  # a Friday
        assert directory_view.closing_time(conn, "paris-01", dt.date(2026, 11, 29)) is None
        # Its own target, else the nearest group's: nice-03 (south: nps 20; france: csat 80).
        assert directory_view.store_target(conn, "paris-01", "nps") == 40
        assert directory_view.store_target(conn, "nice-03", "nps") == 20
        assert directory_view.store_target(conn, "nice-03", "csat") == 80
        # Nested groups: france holds north and south.
        assert directory_view.group_stores(conn, "france") == ["lille-02", "nice-03", "paris-01"]
        assert directory_view.group_stores(conn, "north") == ["lille-02", "paris-01"]
        assert directory_view.group_stores(conn, "nowhere") is None
    # A store only its kiosk.toml knows: its file's name and zone, always open, no target.
    service.set_config(
        directory_db,
        "lyon-09",
        default_config_text("lyon-09", "till-1", "America/Montreal", "Lyon Part-Dieu"),
    )
    with directory_db.reading() as conn:
        assert directory_view.store_timezone(conn, "lyon-09") == ZoneInfo("America/Montreal")
        assert directory_view.store_name(conn, "lyon-09") == "Lyon Part-Dieu"
        assert directory_view.is_open(conn, "lyon-09", dt.datetime(2026, 11, 29, 3, 0, tzinfo=PARIS))
        assert directory_view.store_target(conn, "lyon-09", "nps") is None


# -- the follow-up API's scope and contact details ----------------------------------------------------------


def test_a_manager_gets_403_on_another_stores_followups_and_alerts(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    add_followup(directory_db, "paris-01", "Personne en caisse", hours_ago=30)
    lille = add_followup(directory_db, "lille-02", "Rayon vide", hours_ago=30)
    assert open_followup_alerts(directory_db, tmp_path) == 2
    pierre = sign_in(make_client(contact_keys=(KEY,)), "pierre")
    mine = pierre.get("/api/v1/followups").json()
    assert [f["store"] for f in mine] == ["paris-01"]
    assert pierre.get("/api/v1/followups", params={"store": "lille-02"}).status_code == 403
    assert pierre.get("/api/v1/alerts", params={"store": "lille-02"}).status_code == 403
    assert [a["store"] for a in pierre.get("/api/v1/alerts").json()] == ["paris-01"]
    # The pages: another store's follow-ups are refused, and never listed.
    assert pierre.get("/followups", params={"store": "lille-02"}).status_code == 403
    page = pierre.get("/followups").text
    assert "Personne en caisse" in page and "Rayon vide" not in page and "Lille Centre" not in page
    alerts_page = pierre.get("/alerts").text
    assert "Paris Rivoli" in alerts_page and "Lille Centre" not in alerts_page
    # Acting on another store's follow-up or alert: 404, as if it did not exist; nothing changes.
    token = csrf_of(page)
    moved = pierre.post(f"/followups/{lille}", data={"csrf_token": token, "status": "resolved"})
    assert moved.status_code == 404
    other = next(a for a in alerts.list_alerts(directory_db, "lille-02", "open"))
    acked = pierre.post(f"/alerts/{other['id']}/ack", data={"csrf_token": token, "comment": "vu"})
    assert acked.status_code == 404
    assert alerts.list_alerts(directory_db, "lille-02", "open")[0]["status"] == "open"
    # An admin token scoped to a store reads that store only.
    scoped = service.add_admin(directory_db, "lille-bi", store="lille-02")
    reader = make_client()
    seen = reader.get("/api/v1/followups", headers={"Authorization": f"Bearer {scoped}"}).json()
    assert [f["store"] for f in seen] == ["lille-02"] and "contact" not in seen[0]


def test_contact_details_for_admins_and_managers_never_for_a_viewer(
    make_client: AppFactory, directory_db: CentralDB, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_followup(directory_db, "paris-01", "Rappelez-moi", contact="ann@example.com", name="Ann")
    for user, shown in (("alice", True), ("pierre", True), ("nora", False)):
        client = sign_in(make_client(contact_keys=(KEY,)), user)
        listed = client.get("/api/v1/followups").json()
        assert len(listed) == 1 and listed[0]["comment"] == "Rappelez-moi"
        assert ("contact" in listed[0]) is shown, user
        page = client.get("/followups").text
        assert ("ann@example.com" in page) is shown and ("Ann ·" in page) is shown, user

    assert "ann@example.com" not in caplog.text  # personal data is never logged


def test_a_viewer_reads_but_cannot_act(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    followup = add_followup(directory_db, "paris-01", "Trop attendu en caisse", hours_ago=30)
    open_followup_alerts(directory_db, tmp_path)
    nora = sign_in(make_client(), "nora")
    page = nora.get("/followups").text
    assert "Trop attendu en caisse" in page and f'action="/followups/{followup}"' not in page
    refused = nora.post(f"/followups/{followup}", data={"csrf_token": csrf_of(page), "status": "resolved"})
    assert refused.status_code == 403
    alert = alerts.list_alerts(directory_db, "paris-01", "open")[0]
    assert "/ack" not in nora.get("/alerts").text
    assert (
        nora.post(
            f"/alerts/{alert['id']}/ack", data={"csrf_token": csrf_of(page), "comment": "x"}
        ).status_code
        == 403
    )


# -- the inbox's forms --------------------------------------------------------------------------------------


def test_a_manager_moves_a_followup_forward_with_a_note_recorded_with_their_name(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    followup = add_followup(directory_db, "paris-01", "Caisse fermée", satisfaction=2)
    pierre = sign_in(make_client(), "pierre")
    page = pierre.get("/followups", params={"lang": "fr"}).text
    assert "Suivis" in page and "Ouvert" in page and "satisfaction" in page
    # Without the form's token: refused, nothing changes.
    assert pierre.post(f"/followups/{followup}", data={"status": "contacted"}).status_code == 403
    done = pierre.post(
        f"/followups/{followup}",
        data={
            "csrf_token": csrf_of(page),
            "status": "contacted",
            "note": "appelée à 15 h",
            "assignee": "pierre",
        },
    )
    assert done.status_code == 303
    item = pierre.get("/api/v1/followups").json()[0]
    assert item["status"] == "contacted" and item["assignee"] == "pierre"
    assert item["history"][-1]["by"] == "pierre" and item["history"][-1]["note"] == "appelée à 15 h"
    # Backwards is refused with a page, not a 500.
    back = pierre.post(f"/followups/{followup}", data={"csrf_token": csrf_of(page), "status": "open"})
    assert back.status_code == 409 and "cannot go back" in back.text
    # The JSON API's changes take an admin token, not a browser's cookie.
    assert pierre.post(f"/api/v1/followups/{followup}", json={"status": "resolved"}).status_code == 403


def test_the_inbox_filters_by_store_score_status_age_period_and_words(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    add_followup(directory_db, "paris-01", "La caisse était fermée", satisfaction=1, hours_ago=50)
    add_followup(directory_db, "paris-01", "Vendeur aimable mais lent", satisfaction=2, hours_ago=2)
    add_followup(directory_db, "nice-03", "Parking plein", satisfaction=1, hours_ago=2)
    alice = sign_in(make_client(), "alice")

    def shown(**params: str) -> set[str]:
        page = alice.get("/followups", params=params)
        assert page.status_code == 200, page.text
        return {c for c in ("caisse", "Vendeur", "Parking") if c in page.text}

    assert shown() == {"caisse", "Vendeur", "Parking"}
    assert shown(store="nice-03") == {"Parking"}
    assert shown(score="2") == {"Vendeur"}
    assert shown(age="48") == {"caisse"}
    assert shown(q="FERMEE") == {"caisse"}  # any case, no accents
    assert shown(status="resolved") == set()
    today = dt.datetime.now(dt.UTC).date()
    assert shown(**{"from": today.isoformat()}) <= {"Vendeur", "Parking"}
    for bad in ({"status": "lost"}, {"age": "3"}, {"from": "yesterday"}, {"q": "a\x00b"}):
        assert alice.get("/followups", params=bad).status_code == 400


# -- alerts: the rule, the page, the API ----------------------------------------------------------------------


def test_followups_left_open_past_n_hours_open_an_alert_that_closes_once_taken_in_hand(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    add_followup(directory_db, "nice-03", "Trop cher", hours_ago=3)
    assert open_followup_alerts(directory_db, tmp_path) == 0  # 3 hours: not yet
    old = add_followup(directory_db, "paris-01", "Personne", hours_ago=25)
    assert open_followup_alerts(directory_db, tmp_path) == 1
    opened = alerts.list_alerts(directory_db, None, "open")
    assert [(a["store"], a["kind"]) for a in opened] == [("paris-01", "followup_open")]
    assert opened[0]["figures"]["followups"] == 1 and "Paris Rivoli" in opened[0]["summary"]
    assert "Personne" not in opened[0]["summary"]  # no comment goes into a notification
    alice = sign_in(make_client(), "alice")
    page = alice.get("/followups").text
    alice.post(f"/followups/{old}", data={"csrf_token": csrf_of(page), "status": "in_progress"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    alerts.tick(directory_db, later)  # cleared: closed once it has stayed clear for clear_minutes (15)
    assert len(alerts.list_alerts(directory_db, None, "open")) == 1
    alerts.tick(directory_db, later + dt.timedelta(minutes=16))
    assert alerts.list_alerts(directory_db, None, "open") == []
    assert alerts.list_alerts(directory_db, None, "closed")[0]["closed_by"] == "condition cleared"


def test_acknowledge_and_close_on_the_alerts_page_with_the_users_name(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    add_followup(directory_db, "paris-01", "Personne", hours_ago=30)
    open_followup_alerts(directory_db, tmp_path)
    pierre = sign_in(make_client(), "pierre")
    page = pierre.get("/alerts", params={"lang": "fr"}).text
    assert "Alertes ouvertes (1)" in page and "Prendre en compte" in page
    alert = alerts.list_alerts(directory_db, "paris-01", "open")[0]
    assert (
        pierre.post(
            f"/alerts/{alert['id']}/ack", data={"csrf_token": csrf_of(page), "comment": " "}
        ).status_code
        == 400
    )
    acked = pierre.post(
        f"/alerts/{alert['id']}/ack", data={"csrf_token": csrf_of(page), "comment": "je rappelle"}
    )
    assert acked.status_code == 303
    after = pierre.get("/alerts").text
    assert "je rappelle" in after and "pierre" in after
    assert pierre.get("/api/v1/alerts").json()[0]["acked_by"] == "pierre"
    closed = pierre.post(
        f"/alerts/{alert['id']}/close", data={"csrf_token": csrf_of(page), "comment": "fait"}
    )
    assert closed.status_code == 303
    past = pierre.get("/api/v1/alerts", params={"status": "closed"}).json()
    assert past[0]["closed_by"] == "pierre: fait"
    again = pierre.post(f"/alerts/{alert['id']}/close", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409 and "already closed" in again.text
    # Dead letters: admins only.
    assert pierre.get("/api/v1/outbox/dead").status_code == 403
    assert "Notifications not delivered" not in pierre.get("/alerts").text
    alice = sign_in(make_client(), "alice")
    assert "Notifications not delivered (0)" in alice.get("/alerts").text
    assert alice.get("/api/v1/outbox/dead").json() == []


def test_the_store_page_links_to_its_comments_of_the_period_with_their_scores(
    make_client: AppFactory, directory_db: CentralDB
) -> None:
    add_followup(directory_db, "paris-01", "Caisse lente", satisfaction=2, hours_ago=1)
    add_followup(directory_db, "paris-01", "Il y a deux mois", satisfaction=1, hours_ago=24 * 60)
    add_followup(directory_db, "lille-02", "Rayon vide", satisfaction=1, hours_ago=1)
    alice = sign_in(make_client(), "alice")
    store = alice.get("/stores/paris-01", params={"period": "7d", "lang": "en"}).text
    link = re.search(r'href="(/followups\?[^"]+)">Shoppers&#39; comments of this period', store)
    assert link, "no link to the store's comments"
    comments = alice.get(html.unescape(link.group(1))).text
    assert "Caisse lente" in comments and "Il y a deux mois" not in comments and "Rayon vide" not in comments
    assert re.search(r"<dt>satisfaction</dt><dd>2</dd>", comments)  # the score it came with


def test_odd_input_to_the_pages_and_forms_is_a_4xx_never_a_500(
    make_client: AppFactory, directory_db: CentralDB, tmp_path: Path
) -> None:
    followup = add_followup(directory_db, "paris-01", "Caisse", hours_ago=30)
    open_followup_alerts(directory_db, tmp_path)
    alice = sign_in(make_client(), "alice")
    token = csrf_of(alice.get("/followups").text)
    for url, data in (
        (f"/followups/{followup}", {"status": "lost"}),
        (f"/followups/{followup}", {"assignee": "x" * 65}),
        (f"/followups/{followup}", {"note": "n" * 2001}),
        ("/followups/a%00b", {"status": "resolved"}),
        ("/followups/" + "x" * 40, {"status": "resolved"}),
        ("/alerts/a%00b/ack", {"comment": "ok"}),
        ("/alerts/no-such-alert/close", {}),
        ("/alerts/outbox/99999999999999999999999/retry", {}),
        ("/alerts/outbox/12345/retry", {}),
    ):
        reply = alice.post(url, data={"csrf_token": token, **data})
        assert 400 <= reply.status_code < 500, (url, reply.status_code)
    assert alice.get("/api/v1/alerts", params={"store": "a\x00b"}).status_code == 400


def test_a_followup_open_rule_takes_hours_within_bounds_and_nothing_else() -> None:
    from kiosk.config import ConfigError
    from sync.central.alert_rules import check_alerts_text

    rule = '[[rule]]\nname = "callbacks"\nkind = "followup_open"\nstores = ["*"]\n'
    parsed = check_alerts_text(rule, "alerts.toml")
    assert parsed.rules[0].hours == 24  # the default
    assert check_alerts_text(rule + "hours = 72\n", "alerts.toml").rules[0].hours == 72
    for extra, problem in (
        ("hours = 0\n", "hours: must be a whole number from 1 to 2160"),
        ('hours = "2"\n', "hours: must be a whole number"),
        ("window_minutes = 5\n", "window_minutes"),
    ):
        try:
            check_alerts_text(rule + extra, "alerts.toml")
        except ConfigError as error:
            assert any(problem in line for line in error.problems), error.problems
        else:
            raise AssertionError(f"{extra!r} was taken")
