"""Fixtures of the sync integration suite: each test runs against SQLite and against PostgreSQL.

PostgreSQL: 127.0.0.1:5432, user postgres (trust), maintenance database `test`. A database with a unique
name is created for the run and dropped at its end, so concurrent runs never collide. When PostgreSQL is
not reachable, its half of the suite is skipped (CI starts it in .ci/run). KIOSK_TEST_PG_REQUIRED=1 turns
the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.central import service
from sync.central.db import CentralDB, drop_schema, migrate
from sync.central.settings import Settings
from tests.integration.sync.harness import FaultProxy, KioskDir, LiveServer, make_kiosk

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"kiosk_sync_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as error:
        if os.environ.get("KIOSK_TEST_PG_REQUIRED"):
            raise
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
def central_db(db_url: str) -> Iterator[CentralDB]:
    db = CentralDB(db_url, create=False)
    # A clean schema per test (cheaper than a database per test), made by the real migrations.
    drop_schema(db.engine)
    migrate(db.engine)
    yield db
    db.dispose()


ServerFactory = Callable[..., LiveServer]


@pytest.fixture
def start_server(central_db: CentralDB) -> Iterator[ServerFactory]:
    servers: list[LiveServer] = []

    def start(**settings: object) -> LiveServer:
        server = LiveServer(central_db, Settings(db_url=central_db.url, **settings)).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: ServerFactory) -> LiveServer:
    return start_server()


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[FaultProxy]:
    faulty = FaultProxy(server.port)
    yield faulty
    faulty.close()


KioskFactory = Callable[..., KioskDir]


@pytest.fixture
def new_kiosk(tmp_path: Path, central_db: CentralDB) -> KioskFactory:
    def make(
        store_id: str = "paris-01", device_id: str = "till-1", url: str = "", configured: bool = True
    ) -> KioskDir:
        token = service.add_device(central_db, store_id, device_id)
        kiosk = make_kiosk(tmp_path, store_id, device_id, url, token)
        if configured and service.store_config(central_db, store_id) is None:
            # Head office configures a store before its answers count (without, uploads wait: 503).
            service.set_config(
                central_db, store_id, (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8")
            )
        return kiosk

    return make
