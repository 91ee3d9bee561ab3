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


def test_a_replacement_device_importing_the_old_ones_export_counts_nothing_twice(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB, tmp_path: Any
) -> None:
    old = new_kiosk("paris-01", "till-1", url=server.url)
    with old.opened() as store:
        fill(store, 120, START)
        total = store.answer_count()
    assert CliRunner().invoke(kiosk_main, ["sync", "--data-dir", str(old.data_dir)]).exit_code == 0
    export = tmp_path / "till-1.csv"
    exported = CliRunner().invoke(kiosk_main, ["export", "-o", str(export), "--data-dir", str(old.data_dir)])
    assert exported.exit_code == 0, exported.output
    header = export.read_text(encoding="utf-8").splitlines()[0]
    assert "store_id" in header and "device_id" in header
    # The till breaks; a new one (another device id) gets the old one's answers and sends them.
    new = new_kiosk("paris-01", "till-2", url=server.url)
    imported = CliRunner().invoke(kiosk_main, ["import", str(export), "--data-dir", str(new.data_dir)])
    assert imported.exit_code == 0, imported.output
    synced = CliRunner().invoke(kiosk_main, ["sync", "--data-dir", str(new.data_dir)])
    assert synced.exit_code == 0, synced.output
    assert held(central_db, "till-1") == (total, total) and held(central_db, "till-2") == (0, 0)
    # Another store's kiosk refuses the file (an export names its store).
    lyon = new_kiosk("lyon-02", "till-1", url=server.url)
    refused = CliRunner().invoke(kiosk_main, ["import", str(export), "--data-dir", str(lyon.data_dir)])
    assert refused.exit_code == 2 and "store_id: these answers are store 'paris-01'" in refused.stderr


def test_ids_made_on_import_are_private_to_the_kiosk(new_kiosk: KioskFactory, tmp_path: Any) -> None:
    file = tmp_path / "paper.csv"
    file.write_text("created_at,question,value\n2026-11-24T10:00:00,satisfaction,4\n", encoding="utf-8")
    first = new_kiosk("paris-01", "till-1", url="http://127.0.0.1:9")
    second = new_kiosk("paris-01", "till-2", url="http://127.0.0.1:9")
    ids = []
    for kiosk in (first, second, first):
        args = ["import", str(file), "--data-dir", str(kiosk.data_dir)]
        assert CliRunner().invoke(kiosk_main, args).exit_code == 0
        with kiosk.opened() as store:
            ids.append({r["id"] for r in store.answers()})
    # The same kiosk makes the same id again (re-import adds nothing); another kiosk another id, and the
    # id is not uuid5 of the content in a public namespace (before: predictable by anyone).
    assert ids[0] == ids[2] and ids[0].isdisjoint(ids[1])
