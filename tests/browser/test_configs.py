"""The configuration page in a real browser (Debian's chromium through Playwright, the real server on
loopback): an admin pushes a file through the form, sees it refused with its line number when it is bad,
then the diff and the rollout once the store's kiosks report back (one applied, one refused with the
reason). Pictured at 1366x768 in English and French: docs/screenshots/web-LANG-config*-1366x768.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from kiosk.config import default_config_text
from sync.central import configs, service
from sync.central.db import CentralDB
from sync.central.service import DeviceIdentity, now_utc
from tests.browser import demo
from tests.browser.test_dashboard import CHROMIUM, SHOTS, Watched, axe, sign_in
from tests.integration.sync.harness import LiveServer

pytestmark = pytest.mark.slow
STORE = "paris-02"  # two devices: till-1 and till-2


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, CentralDB]]:
    db = CentralDB(f"sqlite:///{tmp_path_factory.mktemp('central') / 'central.db'}")
    demo.build(db, now_utc().astimezone(demo.PARIS).date())
    live = LiveServer(db).start()
    yield live, db
    live.stop()
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_push_a_configuration_see_the_diff_and_the_rollout(
    browser: Browser, central: tuple[LiveServer, CentralDB]
) -> None:
    server, db = central
    session = Watched(browser, 1366, 768)
    page = session.page
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/stores/{STORE}?lang=en")
    page.click("#config-link")
    page.wait_for_url(f"**/stores/{STORE}/config**")
    first = configs.served_version(db, STORE)
    source = page.input_value("#config-source")

    # A bad kind: refused with its line, nothing stored, the draft kept in the form.
    line = source.splitlines().index('kind = "smiley5"') + 1
    page.fill("#config-source", source.replace('kind = "smiley5"', 'kind = "smiley6"', 1))
    with page.expect_navigation():
        page.click("#push button[type=submit]")
    problems = page.locator("#problems").inner_text()
    assert f"kiosk.toml:{line}: questions[0].kind" in problems
    assert configs.served_version(db, STORE) == first
    assert axe(page) == []
    page.screenshot(path=str(SHOTS / "web-en-config-refused-1366x768.png"), full_page=True)
    session.errors.clear()  # chromium logs the 400 answer itself

    # A good file: pushed, the history shows the diff.
    changed = source.replace("How was your visit today?", "How was your visit to Bastille today?")
    page.fill("#config-source", changed)
    with page.expect_navigation():
        page.click("#push button[type=submit]")
    assert page.locator("#pushed").is_visible()
    second = configs.served_version(db, STORE)
    assert second is not None and first is not None and second > first
    newest = page.locator(f"#v{second}")
    assert "alice" in newest.inner_text()
    assert "How was your visit to Bastille today?" in newest.locator("pre.diff .add").first.inner_text()
    assert "How was your visit today?" in newest.locator("pre.diff .del").first.inner_text()
    rows = page.locator("#rollout tbody tr")
    assert {r.get_attribute("data-status") for r in rows.all()} == {"pending"}

    # The kiosks report back: till-1 applied it, till-2 refused it (a kiosk release that knew less).
    now = service.now_utc()
    service.heartbeat(db, DeviceIdentity(STORE, "till-1"), {"config_version": second, "pending": 0}, now)
    reason = "configuration from head office refused: kiosk.toml:12: display.logo: no such file"
    refusal = {"version": second, "digest": "0" * 64, "reason": reason, "at": service.format_utc(now)}
    service.heartbeat(db, DeviceIdentity(STORE, "till-2"), {"config_refused": refusal}, now)
    for lang in ("en", "fr"):
        page.goto(f"{server.url}/stores/{STORE}/config?lang={lang}")
        applied = page.locator(f'#rollout tr[data-device="{STORE}/till-1"]')
        refused = page.locator(f'#rollout tr[data-device="{STORE}/till-2"]')
        assert applied.get_attribute("data-status") == "applied"
        assert refused.get_attribute("data-status") == "refused"
        assert "display.logo: no such file" in refused.inner_text()
        assert ("Refused" if lang == "en" else "Refusée") in refused.inner_text()
        assert axe(page) == [], lang
        page.screenshot(path=str(SHOTS / f"web-{lang}-config-1366x768.png"), full_page=True)
    # The fleet shows the same.
    page.goto(f"{server.url}/fleet?lang=en")
    fleet_row = page.locator(f'#devices tr[data-device="{STORE}/till-2"] [data-field=config]')
    assert "Refused" in fleet_row.inner_text()
    assert session.outside == [] and session.errors == [], (session.outside, session.errors)
    session.close()


def test_a_group_page_shows_which_stores_follow_it(
    browser: Browser, central: tuple[LiveServer, CentralDB]
) -> None:
    server, _db = central
    session = Watched(browser, 1366, 768)
    page = session.page
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/admin/stores?lang=en")
    page.click('#groups a[aria-label="Configuration Sud"]')
    page.wait_for_url("**/groups/south/config**")
    assert page.locator("#group-stores tbody tr").count() == 2  # Nice and Lyon, each with its own file
    # A group file (no [store] table): checked for each store of the group, recorded, shown; both stores
    # keep their own file (a store's own file comes first).
    template = default_config_text("x", "any", "Europe/Paris", "x")
    group_file = template.split("[store]")[0] + "[device]" + template.split("[device]", 1)[1]
    page.fill("#config-source", group_file)
    with page.expect_navigation():
        page.click("#push button[type=submit]")
    assert page.locator("#pushed").is_visible()
    assert "its own file" in page.locator("#group-stores").inner_text()
    assert axe(page) == []
    page.screenshot(path=str(SHOTS / "web-en-config-group-1366x768.png"), full_page=True)
    assert session.outside == [] and session.errors == [], (session.outside, session.errors)
    session.close()
