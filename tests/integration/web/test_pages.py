"""The pages and exports through HTTP (the browser tests in tests/browser drive the same pages in
chromium): figures equal the JSON API, French number formats, scope on pages and exports, errors in HTML."""

from __future__ import annotations

import csv
import html
import io
import re

from openpyxl import load_workbook

from sync.central.db import CentralDB
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in
from tests.integration.web.test_reports import PERIOD, seed


def cells(html: str, store: str) -> dict[str, str]:
    row = re.search(rf'<tr data-store="{store}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {store!r}"
    return {
        field: re.sub(r"<[^>]+>", "", text).strip()
        for field, text in re.findall(r'data-field="(\w+)">(.*?)</td>', row.group(1), re.S)
    }


def test_overview_shows_the_api_figures_in_english_and_french(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    api = client.get("/api/v1/aggregate", params=PERIOD).json()
    english = client.get("/", params={**PERIOD, "lang": "en"})
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert (
        "Content-Security-Policy" in english.headers
        and "default-src 'self'" in english.headers["Content-Security-Policy"]
    )
    paris = cells(english.text, "paris-01")
    row = next(r for r in api["stores"] if r["store"] == "paris-01")
    assert paris["responses"] == str(row["responses"]) == "4"
    assert paris["repeated_presses"] == "1"
    assert paris["value"] == "0.0" and paris["change"] == "−100.0" and paris["gap"].endswith("−40.0")
    total = cells(english.text, "")
    assert total["value"] == "+57.1" == f"+{api['total']['value']}"
    french = client.get("/", params={**PERIOD, "lang": "fr"})
    assert '<html lang="fr">' in french.text and "Vue d'ensemble" in html.unescape(french.text)
    assert cells(french.text, "")["value"] == "+57,1"
    assert cells(french.text, "paris-01")["ranking_score"] == str(row["ranking_score"]).replace(".", ",")
    csat = client.get("/", params={**PERIOD, "lang": "fr", "index": "csat"})
    assert cells(csat.text, "paris-01")["value"] == "50,0\u202f%"
    store = client.get("/stores/paris-01", params={**PERIOD, "lang": "fr"})
    assert store.status_code == 200 and "Principales raisons" in store.text
    assert "Temps d'attente" in html.unescape(store.text)


def test_store_pages_and_exports_are_scoped(directory_db: CentralDB, make_client: AppFactory) -> None:
    seed(directory_db)
    manager = sign_in(make_client(), "pierre")
    assert manager.get("/stores/paris-01", params=PERIOD).status_code == 200
    other = manager.get("/stores/lille-02", params=PERIOD)
    assert other.status_code == 403 and "not in your scope" in other.text and "Lille" not in other.text
    overview = manager.get("/", params=PERIOD).text
    assert "Lille" not in overview and "Nice" not in overview and "Sud" not in overview
    assert manager.get("/export/answers.csv", params={**PERIOD, "store": "lille-02"}).status_code == 403
    mine = manager.get("/export/answers.csv", params=PERIOD)
    stores = {row["store_id"] for row in csv.DictReader(io.StringIO(mine.text))}
    assert stores == {"paris-01"}
    assert "lille" not in manager.get("/export/overview.csv", params=PERIOD).text
    assert manager.get("/fleet").text.count("data-device=") == 1


def test_exports_read_back_equal_the_api(directory_db: CentralDB, make_client: AppFactory) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    api = client.get("/api/v1/aggregate", params=PERIOD).json()
    table = client.get("/export/overview.csv", params=PERIOD)
    assert table.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["store"] for r in rows] == [r["store"] for r in api["stores"]]
    assert [r["value"] for r in rows] == [
        str(r["value"]) if r["value"] is not None else "" for r in api["stores"]
    ]
    book = load_workbook(io.BytesIO(client.get("/export/overview.xlsx", params=PERIOD).content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0][:3] == ("rank", "store", "name")
    assert [r[5] for r in sheet[1:]] == [r["value"] for r in api["stores"]]
    raw = list(csv.DictReader(io.StringIO(client.get("/export/answers.csv", params=PERIOD).text)))
    # 5 paris visits (one a repeated press) and 10 in lille, each with satisfaction and recommend, two reasons.
    assert len(raw) == (5 + 10) * 2 + 2
    raw_book = load_workbook(io.BytesIO(client.get("/export/answers.xlsx", params=PERIOD).content))
    assert raw_book.active.max_row == len(raw) + 1


def test_bad_page_requests_answer_in_html_with_a_reason(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    client = sign_in(make_client(), "alice")
    bad = client.get("/", params={"from": "2026-02-30", "to": "2026-03-01"})
    assert bad.status_code == 400 and "text/html" in bad.headers["content-type"] and "not a day" in bad.text
    missing = client.get("/stores/nowhere")
    assert missing.status_code == 404 and "no store" in missing.text
    assert client.get("/export/answers.pdf").status_code == 404


def test_an_admin_edits_the_store_directory_in_the_browser(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    admin = sign_in(make_client(), "alice")
    page = admin.get("/admin/stores")
    assert page.status_code == 200 and "Paris Rivoli" in page.text and "Europe/Paris" in page.text
    token = csrf_of(page.text)
    entry = '[stores.paris-01]\nname = "Paris Rivoli"\ngroup = "north"\ntimezone = "Europe/Paris"\ntargets = { nps = 50 }\n'
    assert admin.post("/admin/stores", data={"directory": entry}).status_code == 403  # no CSRF token
    done = admin.post("/admin/stores", data={"directory": entry, "csrf_token": token})
    assert done.status_code == 200 and "0 groups, 1 stores set" in done.text
    targets = {
        r["store"]: r["target"] for r in admin.get("/api/v1/aggregate", params=PERIOD).json()["stores"]
    }
    assert targets["paris-01"] == 50.0
    bad = admin.post(
        "/admin/stores",
        data={"directory": entry.replace("Europe/Paris", "Europe/Nowhere"), "csrf_token": token},
    )
    assert (
        bad.status_code == 400 and "unknown time zone" in bad.text and "Europe/Nowhere" in bad.text
    )  # kept to fix
    assert "directory.set" in admin.get("/admin/audit").text
    viewer = sign_in(make_client(), "nora")
    assert viewer.get("/admin/stores").status_code == 403


def test_overview_pages_rank_every_store_and_show_one_page_of_rows(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    everything = client.get("/api/v1/aggregate", params=PERIOD).json()
    ranked = [r["store"] for r in everything["stores"]]
    assert len(ranked) >= 3 and everything["pages"] == 1
    second = client.get("/", params={**PERIOD, "lang": "en", "per_page": 1, "page": 2})
    assert second.status_code == 200
    shown = re.findall(r'<tr data-store="([^"]+)">', second.text)
    assert shown == [ranked[1]]  # the second of the whole ranking, not of a page
    assert (
        cells(second.text, ranked[1])["value"]
        == cells(client.get("/", params=PERIOD).text, ranked[1])["value"]
    )
    # The totals are the scope's, every page alike.
    assert cells(second.text, "")["value"] == f"+{everything['total']['value']}"
    assert f"Stores 2–2 of {len(ranked)}" in html.unescape(second.text)
    pages = dict(re.findall(r'href="/\?([^"]*page=(\d+)[^"]*)"', html.unescape(second.text))[::-1])
    assert "per_page=1" in next(iter(pages)) and {"1", "3"} <= set(pages.values())
    assert 'aria-current="page"' in second.text
    french = client.get("/", params={**PERIOD, "lang": "fr", "per_page": 1, "page": 2})
    assert f"Magasins 2 à 2 sur {len(ranked)}" in html.unescape(french.text)
    # The JSON API gives the same page with the same figures, trend included.
    page = client.get("/api/v1/aggregate", params={**PERIOD, "per_page": 1, "page": 2}).json()
    assert page["stores"] == [everything["stores"][1]] and page["pages"] == len(ranked)
    assert page["total"] == everything["total"] and page["store_count"] == len(ranked)
    # Out of range: a reason, never a 500.
    beyond = client.get("/", params={**PERIOD, "per_page": 1, "page": len(ranked) + 1})
    assert beyond.status_code == 404 and f"no page {len(ranked) + 1}" in beyond.text
    assert client.get("/", params={**PERIOD, "per_page": 0}).status_code == 400
    assert client.get("/api/v1/aggregate", params={**PERIOD, "page": 0, "per_page": 5}).status_code == 400
    # A short table has no pager.
    assert 'class="pager"' not in client.get("/", params=PERIOD).text
