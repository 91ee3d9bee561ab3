"""The phone page in a real browser: Debian's chromium driven by Playwright, at a phone's size.

Shared by the browser tests and `python tests/integration/sync/phone_browser.py`, which redraws the phone
page's screenshots in docs/screenshots/ (FR and EN: the form, a form with mistakes, thank you, expired).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def phone_context(browser: Browser, language: str = "fr", javascript: bool = True) -> BrowserContext:
    return browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fr-FR" if language == "fr" else "en-GB",
        java_script_enabled=javascript,
    )


def fill_form(page: Page, comment: str, name: str = "", contact: str = "", consent: bool = False) -> None:
    page.fill("#comment", comment)
    if name:
        page.fill("#name", name)
    if contact:
        page.fill("#contact", contact)
    if consent:
        page.check("input[name=consent]")


def submit(page: Page) -> None:
    with page.expect_navigation():
        page.click("button[type=submit]")


def main(out: Path) -> None:
    """Draw the screenshots on a throwaway central (SQLite file) served on loopback."""
    from kiosk.config import default_config_text
    from sync.central import service
    from sync.central.db import CentralDB
    from sync.central.settings import Settings
    from tests.integration.sync.followup_kit import KEY, link_for, visit_url
    from tests.integration.sync.harness import LiveServer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = CentralDB(f"sqlite:///{tmp}/central.db")
        server = LiveServer(db, Settings(db_url=db.url, contact_keys=(KEY,))).start()
        link = link_for(db, server.url)
        service.set_config(
            db, "paris-01", default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
        )
        try:
            with chromium() as browser:
                for lang in ("fr", "en"):
                    context = phone_context(browser, lang)
                    page = context.new_page()
                    page.goto(visit_url(link, lang)[1])
                    page.screenshot(path=out / f"phone-{lang}-1-form.png", full_page=True)
                    fill_form(page, "", "Ann", "ann@example")
                    submit(page)
                    page.screenshot(path=out / f"phone-{lang}-2-mistakes.png", full_page=True)
                    fill_form(page, "Trop d'attente en caisse" if lang == "fr" else "Long wait at the till")
                    page.fill("#contact", "ann@example.com")
                    page.check("input[name=consent]")
                    submit(page)
                    page.screenshot(path=out / f"phone-{lang}-3-thanks.png", full_page=True)
                    page.goto(visit_url(link, lang, service.now_utc() - dt.timedelta(hours=3))[1])
                    page.screenshot(path=out / f"phone-{lang}-4-expired.png", full_page=True)
                    context.close()
        finally:
            server.stop()
            db.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    main(Path(__file__).resolve().parents[3] / "docs" / "screenshots")
