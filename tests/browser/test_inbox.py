"""The follow-up inbox and the alerts page in a real browser (Debian's chromium driven by Playwright, the real
server on loopback): both pages in English and French pass axe-core and are pictured
(docs/screenshots/web-followups-LANG-WxH.png, web-alerts-LANG-WxH.png); a manager moves a follow-up forward
and acknowledges an alert through the forms; a manager of another store is refused. No request leaves
loopback and the console stays clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from sync.central import alerts
from sync.central.db import CentralDB
from sync.central.service import now_utc
from sync.central.settings import Settings
from tests.browser import demo
from tests.browser.test_dashboard import SHOTS, VIEWPORTS, Watched, axe, browser, sign_in, watched
from tests.integration.sync.followup_kit import KEY
from tests.integration.sync.harness import LiveServer
from tests.integration.web.conftest import ingest
from tests.integration.web.inbox_kit import add_followup, open_followup_alerts
from tests.integration.web.test_kiosk_comments import visit, with_comment_question

pytestmark = pytest.mark.slow
__all__ = ["browser", "watched"]  # the dashboard's fixtures, shared


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("inbox")
    db = CentralDB(f"sqlite:///{root / 'central.db'}")
    demo.build(db, now_utc().astimezone(demo.PARIS).date(), days=3)
    from sync.central import accounts

    accounts.add_user(db, "demo", "louis", "manager", demo.PASSWORD, store="lille-04", language="fr")
    add_followup(
        db,
        "paris-01",
        "Personne en caisse pendant dix minutes.",
        hours_ago=30,
        contact="ann@example.com",
        name="Ann",
    )
    add_followup(
        db, "paris-01", "Le vendeur était aimable mais le rayon était vide.", satisfaction=2, hours_ago=3
    )
    add_followup(db, "lille-04", "Parking plein, impossible de se garer.", hours_ago=40)
    # A comment typed at the kiosk (a `text` question): in the inbox too, marked as such.
    with_comment_question(db, "paris-01")
    ingest(db, "paris-01", visit("paris-01", 4, "Caissière très aimable, merci !", hours_ago=2))
    open_followup_alerts(db, Path(root))
    live = LiveServer(db, Settings(db_url=db.url, contact_keys=(KEY,))).start()
    yield live
    live.stop()
    db.dispose()


def test_both_pages_in_both_languages_pass_axe_and_are_pictured(browser: Browser, server: LiveServer) -> None:
    for size, (width, height) in VIEWPORTS.items():
        session = Watched(browser, width, height)
        page = session.page
        sign_in(page, server, "alice")
        for lang, inbox, alerts_title in (
            ("en", "Follow-ups", "Open alerts"),
            ("fr", "Suivis", "Alertes ouvertes"),
        ):
            page.goto(f"{server.url}/followups?lang={lang}")
            assert page.locator("h1").inner_text() == inbox
            assert page.locator("li.followup").count() == 4
            typed = page.locator("li.followup").filter(has_text="Caissière très aimable").inner_text()
            assert ("Saisi sur la borne" if lang == "fr" else "Typed at the kiosk") in typed
            assert (
                "ann@example.com"
                in page.locator("li.followup").filter(has_text="Personne en caisse").inner_text()
            )
            assert page.locator("nav a[aria-current=page]").inner_text() == inbox
            assert axe(page) == [], (lang, size)
            page.screenshot(path=str(SHOTS / f"web-followups-{lang}-{size}.png"), full_page=True)
            page.goto(f"{server.url}/alerts?lang={lang}")
            assert page.locator("#open-title").inner_text().startswith(alerts_title)
            assert page.locator("li.alert").count() == 2
            summary = (
                "suivi(s) ouvert(s) depuis plus de 24 heures" if lang == "fr" else "left open over 24 hours"
            )
            assert summary in page.locator("li.alert").first.inner_text()
            assert axe(page) == [], (lang, size)
            page.screenshot(path=str(SHOTS / f"web-alerts-{lang}-{size}.png"), full_page=True)
        assert session.outside == [] and session.errors == [], (session.outside, session.errors)
        session.close()


def test_a_manager_moves_a_followup_and_acknowledges_an_alert_through_the_forms(
    watched: Watched, server: LiveServer
) -> None:
    page = watched.page
    sign_in(page, server, "pierre")
    page.goto(f"{server.url}/followups?lang=fr")
    assert page.locator("li.followup").count() == 3  # Paris only (its kiosk comment too); not Lille
    assert "Parking" not in page.content()
    card = page.locator("li.followup").filter(has_text="rayon était vide")
    card.locator("select[name=status]").select_option("contacted")
    card.locator("textarea[name=note]").fill("Rappelée, le rayon est réassorti")
    with page.expect_navigation():
        card.locator("button[type=submit]").click()
    card = page.locator("li.followup").filter(has_text="rayon était vide")
    assert "Contacté" in card.locator(".badge").inner_text()
    card.locator("summary").click()
    assert "pierre" in card.locator(".history").inner_text()
    assert "Rappelée, le rayon est réassorti" in card.locator(".history").inner_text()
    # A search keeps to the words of the comment.
    page.fill("#f-q", "caisse")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("li.followup").count() == 1 and "q=caisse" in page.url

    page.goto(f"{server.url}/alerts?lang=fr")
    alert = page.locator("li.alert")
    assert alert.count() == 1 and "Paris Rivoli" in alert.inner_text()
    alert.locator("input[name=comment]").first.fill("Je rappelle la cliente")
    with page.expect_navigation():
        alert.locator("button", has_text="Prendre en compte").click()
    shown = page.locator("li.alert").inner_text()
    assert "Prise en compte par pierre" in shown and "Je rappelle la cliente" in shown
    db = server.db
    assert alerts.list_alerts(db, "paris-01", "open")[0]["acked_by"] == "pierre"


def test_a_manager_of_another_store_is_refused(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "louis")
    page.goto(f"{server.url}/followups")
    assert "Parking plein" in page.content() and "Personne en caisse" not in page.content()
    reply = page.goto(f"{server.url}/followups?store=paris-01")
    assert reply is not None and reply.status == 403
    assert "Personne en caisse" not in page.content()
    page.goto(f"{server.url}/alerts")
    assert "Paris Rivoli" not in page.content() and "Lille Centre" in page.content()
    api = page.request.get(f"{server.url}/api/v1/alerts?store=paris-01")
    assert api.status == 403
    watched.errors.clear()  # chromium logs the 403 of the page itself as a console error
