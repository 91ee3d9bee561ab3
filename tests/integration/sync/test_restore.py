"""Head office restores yesterday's copy of its database: every kiosk notices and sends again what central
lost and the kiosk still holds; nothing is missing at central and nothing is counted twice.

The kiosk compares what central reported holding of its answers (kept in the kiosk's own database, which the
restore cannot touch) with what central reports now; a marker inside central's database could not work,
since the restore brings it back too.
"""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import delete, func, insert, select

from kiosk.cli import main as kiosk_main
from sync.central.db import CentralDB, answers, devices, survey_versions
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import load_pairing
from sync.uploader import drain
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill
from tests.integration.sync.test_upload import START

TABLES = (answers, devices, survey_versions)


def backup(db: CentralDB) -> dict[str, list[dict[str, Any]]]:
    with db.reading() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in TABLES}


def restore(db: CentralDB, copy: dict[str, list[dict[str, Any]]]) -> None:
    """Put back every row as it was in `copy` (what restoring a pg_dump or a file copy does)."""
    with db.writing() as conn:
        for table in TABLES:
            conn.execute(delete(table))
            if copy[table.name]:
                conn.execute(insert(table), copy[table.name])


def held(db: CentralDB, device: str = "till-1") -> tuple[int, int]:
    """(answers of the device at central, distinct ids among them)."""
    with db.reading() as conn:
        return (
            int(conn.execute(select(func.count()).where(answers.c.device_id == device)).scalar_one()),
            int(
                conn.execute(
                    select(func.count(func.distinct(answers.c.id))).where(answers.c.device_id == device)
                ).scalar_one()
            ),
        )


def test_a_restore_in_the_middle_of_a_sync_run_is_noticed_and_repaired(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 1000, START)
        total = store.answer_count()
    copies: list[dict[str, list[dict[str, Any]]]] = []
    batches = 0

    def progress(_count: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 1:
            copies.append(backup(central_db))  # last night's copy: one batch in
        elif batches == 3:
            restore(central_db, copies[0])  # head office restores it mid-way through the run

    client = CentralClient(load_pairing(kiosk.data_dir), timeout=(2, 10))
    try:
        with kiosk.opened() as store:
            result = drain(
                Outbox(store), client, kiosk.store_id, kiosk.device_id, batch_size=200, progress=progress
            )
    finally:
        client.close()
    assert result.ok and result.pending == 0 and result.restored > 0
    # Nothing missing, nothing doubled (before: the two lost batches stayed marked synced on the kiosk).
    assert held(central_db) == (total, total)


def test_kiosk_sync_notices_a_restore_when_nothing_is_pending(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    args = ["--data-dir", str(kiosk.data_dir)]
    with kiosk.opened() as store:
        fill(store, 100, START, seed=1)
    assert CliRunner().invoke(kiosk_main, ["sync", *args]).exit_code == 0
    copy = backup(central_db)
    with kiosk.opened() as store:
        fill(store, 100, START.replace(hour=12), seed=2)
        total = store.answer_count()
    assert CliRunner().invoke(kiosk_main, ["sync", *args]).exit_code == 0
    restore(central_db, copy)
    assert held(central_db)[0] < total
    # Nothing is pending on the kiosk; `kiosk sync` asks central all the same and sends again.
    result = CliRunner().invoke(kiosk_main, ["sync", *args])
    assert result.exit_code == 0, result.output
    assert "restored from a backup" in result.stderr
    assert held(central_db) == (total, total)
    # And again: nothing more to do, nothing sent twice.
    assert CliRunner().invoke(kiosk_main, ["sync", *args]).exit_code == 0
    assert held(central_db) == (total, total)
