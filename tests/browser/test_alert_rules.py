"""The alert rules page and the user's own page in a real browser (Debian's chromium driven by Playwright,
the real server on loopback): both in English and French pass axe-core and are pictured
(docs/screenshots/web-rules-LANG-WxH.png, web-rule-form-en-WxH.png, web-account-LANG-WxH.png); an admin
makes a rule through the form (a mistake first, shown by field), mutes it and sees it listed; a manager
chooses their digests. No request leaves loopback and the console stays clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from sync.central import accounts
from sync.central.alert_rules import load_rules, set_alerts
from sync.central.db import CentralDB
from sync.central.service import now_utc
from sync.central.settings import Settings
from tests.browser import demo
from tests.browser.test_dashboard import SHOTS, VIEWPORTS, Watched, axe, browser, sign_in, watched
from tests.integration.sync.harness import LiveServer

pytestmark = pytest.mark.slow
__all__ = ["browser", "watched"]  # the dashboard's fixtures, shared

FILE = """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
share = 0.5
window_minutes = 15
min_answers = 4
stores = ["*"]
notify = ["mailto:ops@example.com"]

[[rule]]
name = "silent kiosk"
kind = "device"
check = "silent"
minutes = 30
stores = ["paris-01"]
notify = ["mailto:pierre@example.com"]
mute = [{ from = 2026-12-24, to = 2026-12-26 }]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("rules")
    db = CentralDB(f"sqlite:///{root / 'central.db'}")
    demo.build(db, now_utc().astimezone(demo.PARIS).date(), days=2)
    path = Path(root) / "alerts.toml"
    path.write_text(FILE, encoding="utf-8")
    set_alerts(db, path, now_utc())
    live = LiveServer(db, Settings(db_url=db.url)).start()
    yield live
    live.stop()
    db.dispose()


def test_rules_page_and_form_in_both_languages(browser: Browser, server: LiveServer) -> None:
    for size, (width, height) in VIEWPORTS.items():
        session = Watched(browser, width, height)
        page = session.page
        sign_in(page, server, "alice")
        for lang, title in (("en", "Alert rules"), ("fr", "Règles d'alerte")):
            page.goto(f"{server.url}/alerts/rules?lang={lang}")
            assert page.locator("h1").inner_text() == title
            assert page.locator("li.rule").count() >= 2
            assert axe(page) == [], (lang, size)
            page.screenshot(path=str(SHOTS / f"web-rules-{lang}-{size}.png"), full_page=True)
        page.goto(f"{server.url}/alerts/rules/new?lang=en")
        page.fill("#rule-name", f"paris queue {size}")
        page.fill("#rule-question", "satisfaction")
        page.fill("#rule-share", "50")
        page.fill("#rule-stores", "paris-01, nowhere")
        page.fill("#rule-notify", "mailto:pierre@example.com")
        with page.expect_navigation():
            page.click("form.rule-form button[type=submit]")
        problems = page.locator("div.error").inner_text()
        assert "share: must be a fraction above 0 and at most 1" in problems
        assert "stores: 'nowhere' is neither a store nor a group central knows" in problems
        assert axe(page) == [], size
        page.screenshot(path=str(SHOTS / f"web-rule-form-en-{size}.png"), full_page=True)
        page.fill("#rule-share", "0.6")
        page.fill("#rule-stores", "paris-01")
        with page.expect_navigation():
            page.click("form.rule-form button[type=submit]")
        assert page.url.endswith("/alerts/rules")
        card = page.locator("li.rule").filter(has_text=f"paris queue {size}")
        assert "share = 0.6" in card.inner_text()
        card.locator("input[name=from]").fill("2026-12-24")
        card.locator("input[name=to]").fill("2026-12-26")
        with page.expect_navigation():
            card.locator("button", has_text="Mute").click()
        card = page.locator("li.rule").filter(has_text=f"paris queue {size}")
        assert "2026-12-24" in card.inner_text()
        # The refused form comes back as a 400 (the console notes it), nothing else.
        bad_request = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
        assert session.outside == [] and session.errors == [bad_request], (session.outside, session.errors)
        session.close()
    with server.db.reading() as conn:
        assert {r.name for r in load_rules(conn)} >= {"paris queue 1366x768", "paris queue 768x1024"}


def test_a_manager_chooses_their_digests_on_their_own_page(browser: Browser, server: LiveServer) -> None:
    for size, (width, height) in VIEWPORTS.items():
        session = Watched(browser, width, height)
        page = session.page
        sign_in(page, server, "pierre")
        for lang, title in (("en", "My account"), ("fr", "Mon compte")):
            page.goto(f"{server.url}/account?lang={lang}")
            assert page.locator("h1").inner_text() == title
            assert axe(page) == [], (lang, size)
            page.screenshot(path=str(SHOTS / f"web-account-{lang}-{size}.png"), full_page=True)
        page.select_option("#digests", "weekly")
        with page.expect_navigation():
            page.click("form[action='/account/digests'] button[type=submit]")
        assert accounts.get_user(server.db, "pierre").digests == "weekly"  # type: ignore[union-attr]
        assert session.outside == [] and session.errors == [], (session.outside, session.errors)
        session.close()


def test_a_viewer_reads_the_rules_without_forms(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "nora")
    page.goto(f"{server.url}/alerts/rules")
    assert "queue" in page.content() and page.locator("li.rule form").count() == 0
    reply = page.goto(f"{server.url}/alerts/rules/new")
    assert reply is not None and reply.status == 403
    watched.errors.clear()  # chromium logs the 403 of the page itself as a console error
