"""The head-office pages in a real browser: Debian's chromium driven by Playwright, against the real
server on loopback. Signs in, opens every page in English and French, checks the figures shown against the
JSON API, downloads the exports and reads them back, checks the scope and CSRF refusals, that no request
leaves loopback, that the console stays clean, runs axe-core in each page, and saves the screenshots in
docs/screenshots/ (web-LANG-PAGE-WxH.png). One browser for the module."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from sync.central.db import CentralDB
from sync.central.service import now_utc
from tests.browser import demo
from tests.integration.sync.harness import LiveServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).with_name("vendor") / "axe-core-4.14.1.min.js"
VIEWPORTS = {"1366x768": (1366, 768), "768x1024": (768, 1024)}
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = CentralDB(f"sqlite:///{tmp_path_factory.mktemp('central') / 'central.db'}")
    demo.build(db, now_utc().astimezone(demo.PARIS).date())
    live = LiveServer(db).start()
    yield live
    live.stop()
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Watched:
    """A browser context that records every request leaving loopback (and blocks it) and console errors."""

    def __init__(self, browser: Browser, width: int = 1366, height: int = 768) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    session = Watched(browser)
    yield session
    assert session.outside == [], f"requests left loopback: {session.outside}"
    assert session.errors == [], f"console errors: {session.errors}"
    session.close()


def sign_in(page: Page, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#username", name)
    page.fill("#password", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def axe(page: Page) -> list[dict[str, Any]]:
    """Serious and critical violations found by axe-core in the page as shown."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def number(text: str, lang: str = "en") -> float | None:
    """A figure as a page shows it ("+57,1", "75,0 %", "−40.0"); a gap cell starts with words for screen
    readers, on a line of their own."""
    cleaned = text.strip().splitlines()[-1].strip()
    cleaned = cleaned.replace("\u202f", "").replace("\xa0", "").replace("%", "")
    cleaned = cleaned.replace("−", "-").replace("+", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".") if lang == "fr" else cleaned.replace(",", "")
    return None if cleaned in ("–", "") else float(cleaned)


def period() -> dict[str, str]:
    today = now_utc().date()
    return {"from": (today - dt.timedelta(days=29)).isoformat(), "to": today.isoformat()}


def query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


PAGES = {
    "overview": "/",
    "store": "/stores/paris-01",
    "fleet": "/fleet",
    "directory": "/admin/stores",
    "store-edit": "/admin/stores/paris-01/edit",
    "users": "/admin/users",
    "audit": "/admin/audit",
}


def test_every_page_in_both_languages_matches_the_api_passes_axe_and_is_pictured(
    browser: Browser, server: LiveServer
) -> None:
    view = period()
    for size, (width, height) in VIEWPORTS.items():
        session = Watched(browser, width, height)
        page = session.page
        sign_in(page, server, "alice")
        api = page.request.get(f"{server.url}/api/v1/aggregate?{query(view)}").json()
        store_api = page.request.get(f"{server.url}/api/v1/aggregate/stores/paris-01?{query(view)}").json()
        for lang in ("en", "fr"):
            for name, path in PAGES.items():
                page.goto(f"{server.url}{path}?{query({**view, 'lang': lang})}")
                assert page.locator("html").get_attribute("lang") == lang
                if name == "overview":
                    shown = {
                        row.get_attribute("data-store"): {
                            cell.get_attribute("data-field"): number(cell.inner_text(), lang)
                            for cell in row.locator("[data-field]").all()
                        }
                        for row in page.locator("#overview tbody tr[data-store]").all()
                    }
                    assert list(shown) == [r["store"] for r in api["stores"]]
                    for row in api["stores"]:
                        for field in (
                            "responses",
                            "repeated_presses",
                            "value",
                            "change",
                            "target",
                            "gap",
                            "ranking_score",
                        ):
                            assert shown[row["store"]][field] == row[field], (lang, row["store"], field)
                    total = page.locator("#overview tfoot [data-field=value]").inner_text()
                    assert number(total, lang) == api["total"]["value"]
                    if lang == "fr":
                        assert "," in total
                if name == "store":
                    for field in ("responses", "repeated_presses", "value", "target", "group_average"):
                        shown_value = number(page.locator(f"[data-field={field}]").first.inner_text(), lang)
                        assert shown_value == store_api[field], (lang, field)
                    page.wait_for_selector("#daily-chart canvas")  # uPlot drew the trend
                if name == "fleet":
                    silent = page.locator("tr.silent")
                    assert silent.count() >= 1  # the airport is open around the clock and quiet for 3 hours
                violations = axe(page)
                assert violations == [], (name, lang, size, violations)
                page.screenshot(path=str(SHOTS / f"web-{lang}-{name}-{size}.png"), full_page=True)
        page.context.clear_cookies()
        page.goto(f"{server.url}/login?lang=fr")
        assert axe(page) == []
        page.screenshot(path=str(SHOTS / f"web-fr-login-{size}.png"), full_page=True)
        assert session.outside == [] and session.errors == [], (session.outside, session.errors)
        session.close()


def test_exports_download_and_read_back(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "alice")
    view = period()
    page.goto(f"{server.url}/?{query({**view, 'lang': 'en', 'index': 'csat'})}")
    api = page.request.get(f"{server.url}/api/v1/aggregate?{query({**view, 'index': 'csat'})}").json()
    with page.expect_download() as download:
        page.click("text=Export CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["store"], float(r["value"])) for r in rows] == [
        (r["store"], r["value"]) for r in api["stores"]
    ]
    with page.expect_download() as download:
        page.click("text=Export XLSX")
    sheet = list(
        load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True)
    )
    assert [(r[1], r[5]) for r in sheet[1:]] == [(r["store"], r["value"]) for r in api["stores"]]
    with page.expect_download() as download:
        page.click("text=Raw answers XLSX")
    raw = list(
        load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True)
    )
    visits = sum(r["responses"] + r["repeated_presses"] for r in api["stores"])
    assert sum(1 for r in raw[1:] if r[3] == "satisfaction") == visits


def test_a_store_manager_gets_403_on_another_store(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "pierre")
    assert page.locator("#overview tbody tr[data-store]").count() == 1
    assert "Lille" not in page.content()
    reply = page.goto(f"{server.url}/stores/lille-04")
    assert reply is not None and reply.status == 403
    assert "Lille" not in page.content()
    export = page.request.get(f"{server.url}/export/answers.csv?store=lille-04")
    assert export.status == 403
    watched.errors.clear()  # chromium logs the 403 of the page itself as a console error


def test_a_form_posted_without_its_csrf_token_is_refused(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/admin/users")
    page.fill("#new-name", "mallory")
    page.fill("#new-password", "a password of mallory")
    page.evaluate("document.querySelector('form.grid input[name=csrf_token]').remove()")
    with page.expect_navigation():
        page.click("form.grid button[type=submit]")
    assert "security token" in page.content()
    page.goto(f"{server.url}/admin/users")
    assert "mallory" not in page.content()
    watched.errors.clear()  # the 403 answer itself is logged by chromium


def test_filters_keep_the_view_in_the_url(watched: Watched, server: LiveServer) -> None:
    page = watched.page
    sign_in(page, server, "alice")
    page.click("text=30 days")
    page.select_option("#index", "happy_index")
    page.select_option("#group", "north")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**index=happy_index**")
    assert "group=north" in page.url and "from=" in page.url
    assert page.locator("#overview tbody tr[data-store]").count() == 2
    shared = page.url
    page.goto(shared)  # a bookmark opens the same view
    assert page.locator("#overview tbody tr[data-store]").count() == 2


def test_a_long_ranking_pages_in_place_and_keeps_the_page_in_the_url(
    watched: Watched, server: LiveServer
) -> None:
    page = watched.page
    sign_in(page, server, "alice")
    view = {**period(), "per_page": "2"}
    api = page.request.get(f"{server.url}/api/v1/aggregate?{query(period())}").json()
    ranked = [r["store"] for r in api["stores"]]
    assert len(ranked) > 2
    page.goto(f"{server.url}/?{query({**view, 'lang': 'fr'})}")
    rows = page.locator("#overview tbody tr[data-store]")
    assert [r.get_attribute("data-store") for r in rows.all()] == ranked[:2]
    assert f"Magasins 1 à 2 sur {len(ranked)}" in page.locator(".pager").inner_text()
    page.click(".pager a[rel=next]")  # HTMX swaps the table in place and pushes the URL
    expect(page.locator(".pager a[aria-current=page]")).to_have_text("2")
    page.wait_for_url("**page=2**")
    assert [r.get_attribute("data-store") for r in rows.all()] == ranked[2:4]
    # The ranks go on from the first page; the totals stay the scope's.
    assert page.locator("#overview tbody tr[data-store] td").first.inner_text() in ("3", "–")
    total = page.locator("#overview tfoot [data-field=value]").inner_text()
    assert number(total, "fr") == api["total"]["value"]
    assert axe(page) == []
    page.screenshot(path=str(SHOTS / "web-fr-overview-page-2-laptop.png"), full_page=True)
    page.reload()  # the pushed URL opens the same page
    assert [r.get_attribute("data-store") for r in rows.all()] == ranked[2:4]
