"""Fixtures of the head-office web tests: a central database on SQLite and PostgreSQL (the sync suite's
fixtures), a small store directory, users of each role, and signed-in TestClients."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from sync.central import accounts
from sync.central.app import create_app
from sync.central.db import CentralDB
from sync.central.directory import set_stores
from sync.central.settings import Settings
from tests.integration.sync import conftest as sync_fixtures

# The sync suite's database fixtures: every web test runs on SQLite and on PostgreSQL.
pg_database = sync_fixtures.pg_database
db_url = sync_fixtures.db_url
central_db = sync_fixtures.central_db

PASSWORD = "correct horse battery"
DIRECTORY = """
[groups.france]
name = "France"
targets = { nps = 30, csat = 80, happy_index = 75 }

[groups.north]
name = "Nord"
parent = "france"

[groups.south]
name = "Sud"
parent = "france"
targets = { nps = 20 }

[stores.paris-01]
name = "Paris Rivoli"
group = "north"
timezone = "Europe/Paris"
opening_hours = { mon = "09:00-19:00", tue = "09:00-19:00", wed = "09:00-19:00", thu = "09:00-19:00", fri = "09:00-20:00", sat = "09:00-20:00", sun = "closed" }
targets = { nps = 40 }

[stores.lille-02]
name = "Lille Centre"
group = "north"
timezone = "Europe/Paris"
opening_hours = { mon = "10:00-19:00", tue = "10:00-19:00", wed = "10:00-19:00", thu = "10:00-19:00", fri = "10:00-19:00", sat = "10:00-19:00" }

[stores.nice-03]
name = "Nice Masséna"
group = "south"
timezone = "Europe/Paris"
opening_hours = { mon = "09:00-19:00", tue = "09:00-19:00", wed = "09:00-19:00", thu = "09:00-19:00", fri = "09:00-19:00", sat = "09:00-19:00" }
"""


@pytest.fixture
def directory_db(central_db: CentralDB) -> CentralDB:
    set_stores(central_db, "test", DIRECTORY)
    accounts.add_user(central_db, "test", "alice", "admin", PASSWORD, email="alice@example.com")
    accounts.add_user(central_db, "test", "nora", "viewer", PASSWORD, group="north", language="fr")
    accounts.add_user(central_db, "test", "pierre", "manager", PASSWORD, store="paris-01")
    for store in ("paris-01", "lille-02", "nice-03"):
        configure(central_db, store)
        service.add_device(central_db, store, "till-1")
    return central_db


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(directory_db: CentralDB) -> Iterator[AppFactory]:
    clients: list[TestClient] = []

    def make(base_url: str = "http://testserver", **settings: object) -> TestClient:
        app = create_app(Settings(db_url=directory_db.url, **settings), directory_db)  # type: ignore[arg-type]
        client = TestClient(app, base_url=base_url, follow_redirects=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    reply = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text), "next": "/"}
    )
    assert reply.status_code == 303, reply.text
    return client


# -- answers through the real ingest (rollups included) --------------------------------------------------

from kiosk.config import default_config_text  # noqa: E402
from sync.central import service  # noqa: E402
from sync.central.service import DeviceIdentity  # noqa: E402

SURVEY_VERSION = "v1"


def configure(db: CentralDB, store: str) -> None:
    service.set_config(db, store, default_config_text(store, "till-1", "Europe/Paris", store))


def visit_items(
    store: str,
    at: str,
    satisfaction: int,
    recommend: int | None,
    reason: str | None = None,
    suspect: bool = False,
) -> list[dict[str, object]]:
    """One visit's answers in the upload format: `at` is a UTC time like 2026-11-24T09:30:00+00:00."""
    import uuid

    session = str(uuid.uuid4())
    day = dt.datetime.fromisoformat(at).astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    answers = [("satisfaction", str(satisfaction))]
    if reason:
        answers.append(("reason", reason))
    if recommend is not None:
        answers.append(("recommend", str(recommend)))
    return [
        {
            "id": str(uuid.uuid4()),
            "created_at": at,
            "local_day": day,
            "question": question,
            "language": "fr",
            "suspect": suspect,
            "session": session,
            "value": value,
            "survey_version": SURVEY_VERSION,
        }
        for question, value in answers
    ]


def ingest(db: CentralDB, store: str, items: list[dict[str, object]], device: str = "till-1") -> None:
    result = service.ingest(db, DeviceIdentity(store, device), items, service.now_utc())
    assert not result.rejected, result.rejected
