"""The phone page in Debian's chromium at 390x844: what a shopper does after scanning the kiosk's QR code."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser

from kiosk.config import default_config_text
from sync.central import service
from sync.central.db import CentralDB
from sync.central.web import phone
from tests.integration.sync.conftest import ServerFactory
from tests.integration.sync.followup_kit import KEY, counts, link_for, visit_url
from tests.integration.sync.harness import LiveServer
from tests.integration.sync.phone_browser import CHROMIUM, PHONE, chromium, fill_form, phone_context, submit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
    # The page's logic runs on both databases in test_followups.py; the browser needs one.
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def live(start_server: ServerFactory, central_db: CentralDB) -> LiveServer:
    service.set_config(
        central_db, "paris-01", default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    )
    return start_server(contact_keys=(KEY,))


def test_a_shopper_sends_a_comment_from_a_phone_and_head_office_sees_it(
    browser: Browser, live: LiveServer, central_db: CentralDB
) -> None:
    paris = link_for(central_db, live.url, "paris-01", "till-1")
    link_for(central_db, live.url, "lyon-02", "till-1")
    session, url = visit_url(paris, "fr")
    context = phone_context(browser, "fr")
    page = context.new_page()
    loaded: list[tuple[str, int]] = []
    page.on("response", lambda r: loaded.append((r.url, len(r.body()))))
    page.goto(url)
    assert page.viewport_size == PHONE
    assert page.locator("h1").inner_text() == "Dites-nous en plus"
    assert "Paris Rivoli" in page.locator("main").inner_text()
    # One request, well under 50 KB, and nothing wider than the phone.
    assert [u for u, _ in loaded] == [url] and sum(size for _, size in loaded) < 50 * 1024
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The same code scanned twice: a second tab holds the form too.
    second = context.new_page()
    second.goto(url)
    fill_form(page, "Vingt minutes d'attente en caisse", "Ann", "06 12 34 56 78", consent=True)
    submit(page)
    assert page.locator("h1").inner_text() == "Merci"
    assert counts(central_db) == (1, 1, 0)

    admin = {"Authorization": f"Bearer {service.add_admin(central_db, 'ho')}"}
    mine = requests.get(f"{live.url}/api/v1/followups?store=paris-01", headers=admin, timeout=10).json()
    assert [(f["session"], f["comment"]) for f in mine] == [(session, "Vingt minutes d'attente en caisse")]
    assert mine[0]["contact"]["contact"] == "06 12 34 56 78" and mine[0]["contact"]["name"] == "Ann"
    assert requests.get(f"{live.url}/api/v1/followups?store=lyon-02", headers=admin, timeout=10).json() == []

    # The second tab sends too: refused with a clear page, nothing more stored.
    fill_form(second, "Encore moi", contact="autre@example.com", consent=True)
    submit(second)
    assert second.locator("h1").inner_text() == "Déjà reçu"
    assert counts(central_db) == (1, 1, 0)
    context.close()


def test_the_form_works_without_javascript(browser: Browser, live: LiveServer, central_db: CentralDB) -> None:
    _session, url = visit_url(link_for(central_db, live.url), "en")
    context = phone_context(browser, "en", javascript=False)
    page = context.new_page()
    page.goto(url)
    fill_form(page, "Nobody at the counter", contact="ann@example")  # a mistake first
    submit(page)
    assert "valid e-mail address" in page.locator(".errors").inner_text()
    assert page.locator("#contact").input_value() == "ann@example"  # what was typed is kept
    page.fill("#contact", "ann@example.com")
    page.check("input[name=consent]")
    submit(page)
    assert page.locator("h1").inner_text() == "Thank you"
    assert counts(central_db) == (1, 1, 0)
    context.close()


def test_forged_and_expired_links_show_a_clear_page(
    browser: Browser, live: LiveServer, central_db: CentralDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = link_for(central_db, live.url)
    _session, url = visit_url(link, "fr")
    context = phone_context(browser, "fr")
    page = context.new_page()
    token = url.rsplit("/", 1)[1]
    page.goto(f"{live.url}/r/{token[:20]}{'x' if token[20] != 'x' else 'y'}{token[21:]}")
    assert page.locator("h1").inner_text() == "Lien non valable"
    # The form was opened in time, but sent after the server's clock passed the two hours.
    page.goto(url)
    fill_form(page, "Trop tard ?")
    later = service.now_utc() + dt.timedelta(hours=2, seconds=5)
    monkeypatch.setattr(phone, "now_utc", lambda: later)
    submit(page)
    assert page.locator("h1").inner_text() == "Lien expiré"
    assert counts(central_db) == (0, 0, 0)
    context.close()
