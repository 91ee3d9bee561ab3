"""Local views: period presets count from the local date (the store's, or the scope's), never the UTC date
(at 23:30 UTC on 30 November it is already 1 December in Paris), on the pages and the JSON API alike; sizes
on the fleet page are written in the page's language by Babel ("12.3 GB", "12,3 Go")."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.central import queries, service
from sync.central.db import CentralDB
from sync.central.directory import set_stores
from tests.integration.web.conftest import DIRECTORY, AppFactory, sign_in

LATE = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


def test_presets_use_the_local_date_not_the_utc_one(
    directory_db: CentralDB, make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "now_utc", lambda: LATE)
    client = sign_in(make_client(), "alice")
    today = {"period": "today"}
    assert client.get("/api/v1/aggregate", params=today).json()["from"] == "2026-12-01"
    assert client.get("/api/v1/aggregate/stores/paris-01", params=today).json()["from"] == "2026-12-01"
    assert "2026-12-01" in client.get("/", params=today).text
    yesterday = client.get("/stores/paris-01", params={"period": "yesterday"}).text
    assert 'value="2026-11-30"' in yesterday
    month = client.get("/api/v1/aggregate", params={"period": "month"}).json()
    assert (month["from"], month["to"]) == ("2026-12-01", "2026-12-01")


def test_a_store_counts_from_its_own_date_and_a_mixed_scope_from_head_office(
    directory_db: CentralDB,
) -> None:
    set_stores(
        directory_db,
        "test",
        DIRECTORY + '\n[stores.nyc-04]\nname = "New York"\ntimezone = "America/New_York"\n',
    )
    assert queries.local_today(directory_db, LATE, "nyc-04") == dt.date(2026, 11, 30)
    assert queries.local_today(directory_db, LATE, "paris-01") == dt.date(2026, 12, 1)
    assert queries.local_today(directory_db, LATE, None, frozenset({"nyc-04"})) == dt.date(2026, 11, 30)
    # Stores in several zones: head office's date (the directory's default zone, Europe/Paris).
    assert queries.local_today(directory_db, LATE) == dt.date(2026, 12, 1)


def test_free_disk_on_the_fleet_page_is_written_in_the_page_language(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    from sqlalchemy import update

    from sync.central.db import devices

    with directory_db.writing() as conn:
        conn.execute(
            update(devices).where(devices.c.store_id == "paris-01").values(free_disk_bytes=12_345_678_901)
        )
    client = sign_in(make_client(), "alice")
    assert "12.3 GB" in client.get("/fleet", params={"lang": "en"}).text
    assert "12,3\u202fGo" in client.get("/fleet", params={"lang": "fr"}).text
