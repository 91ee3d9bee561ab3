"""The version a kiosk reports to head office: its heartbeat carries `kiosk.__version__` (the bundle's
`kiosk --version` is checked against the same value by .ci/bundle), and the server stores it per device."""

from __future__ import annotations

from sqlalchemy import select

import kiosk
from kiosk.config import load_config
from sync.central.db import CentralDB, devices
from sync.jobs import SyncJobs
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer


def test_heartbeat_reports_the_app_version(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    till = new_kiosk(url=server.url)
    SyncJobs(till.data_dir, load_config(till.data_dir / "kiosk.toml")).heartbeat()
    with central_db.reading() as conn:
        row = conn.execute(select(devices).where(devices.c.device_id == till.device_id)).one()
    assert row.app_version == kiosk.__version__
