"""Head office's answers export: every page into a file (`kiosk-central export`), a range of store-local days
on the API and the command, and cursors that never go backwards across a restore from a backup."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from sync.central import export, service
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from sync.central.settings import Settings
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill, make_kiosk
from tests.integration.sync.test_upload import START, sync_once

STORE = "paris-01"


def answers_page(url: str, admin: str, **params: object) -> requests.Response:
    return requests.get(
        f"{url}/api/v1/stores/{STORE}/answers",
        params=params,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )


def test_export_writes_every_page_and_a_range_of_days(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB, tmp_path: Path
) -> None:
    kiosk = new_kiosk(STORE, "till-1", url=server.url)
    with kiosk.opened() as store:
        fill(store, 3009, START, spacing_s=120)
    uploaded = sync_once(kiosk, batch_size=500)
    assert uploaded.ok and uploaded.synced >= 3009  # whole visits: one or two more
    total = uploaded.synced
    runner = CliRunner()
    db = ["--db", central_db.url]
    out = tmp_path / "answers.csv"
    result = runner.invoke(central_main, ["export", "--store", STORE, "-o", str(out), *db])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == total and len({row["id"] for row in rows}) == total
    assert "Exporting" in result.stderr and f"{total} answers exported" in result.stderr
    days = Counter(row["local_day"] for row in rows)
    assert len(days) >= 3, days
    first, *_, last = sorted(days)
    middle = sorted(days)[1:-1]

    # The days in between only, as JSON Lines (chosen by the extension), from the command and the API.
    lines = tmp_path / "middle.jsonl"
    args = ["--from", middle[0], "--to", middle[-1], "-o", str(lines)]
    assert runner.invoke(central_main, ["export", "--store", STORE, *args, *db]).exit_code == 0
    exported = [json.loads(line) for line in lines.read_text().splitlines()]
    assert len(exported) == sum(days[d] for d in middle)
    assert {row["local_day"] for row in exported} == set(middle)

    admin = service.add_admin(central_db, "reader")
    page = answers_page(server.url, admin, **{"from": last, "to": last, "limit": 10_000})
    assert page.status_code == 200
    assert [json.loads(line)["local_day"] for line in page.text.splitlines()] == [last] * days[last]
    assert answers_page(server.url, admin, **{"from": last, "to": first}).status_code == 400
    bad = runner.invoke(central_main, ["export", "--store", STORE, "--from", "11/20", "-o", str(out), *db])
    assert bad.exit_code == 2 and "--from: not a day" in bad.output


PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def test_cursors_never_go_backwards_across_a_restore(pg_database: str, tmp_path: Path) -> None:
    """An integration keeps X-Next-After; head office is restored from an older dump; new answers arrive.
    The old cursor is refused with where to continue, and no new answer is ever behind it."""
    psycopg = pytest.importorskip("psycopg")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    name = f"kiosk_restore_{uuid.uuid4().hex[:10]}"
    url = pg_database.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin_conn:
        admin_conn.execute(f'CREATE DATABASE "{name}"')
    dump = tmp_path / "central.dump"
    server: LiveServer | None = None
    try:
        db = CentralDB(url)
        assert export.raise_answer_numbers(db) is not None  # what `serve` does when it starts
        server = LiveServer(db, Settings(db_url=url)).start()
        kiosk = make_kiosk(tmp_path, STORE, "till-1", server.url, service.add_device(db, STORE, "till-1"))
        # Head office checks answers against the store's survey: it needs the store's configuration.
        service.set_config(db, STORE, (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8"))
        admin = service.add_admin(db, "reader")
        with kiosk.opened() as store:
            fill(store, 100, START)
        assert sync_once(kiosk).ok
        before_dump = answers_page(server.url, admin, limit=10_000)
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", "--dbname", url], check=True, capture_output=True
        )
        with kiosk.opened() as store:
            fill(store, 50, START.replace(day=21), seed=2)
        assert sync_once(kiosk).ok
        cursor = int(answers_page(server.url, admin, limit=10_000).headers["X-Next-After"])
        assert cursor > int(before_dump.headers["X-Next-After"])

        # The restore, as the guide says: server stopped, database recreated, dump restored, server started.
        server.stop()
        db.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin_conn:
            admin_conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin_conn.execute(f'CREATE DATABASE "{name}"')
        subprocess.run(["pg_restore", "--dbname", url, str(dump)], check=True, capture_output=True)
        db = CentralDB(url)
        export.raise_answer_numbers(db)
        server = LiveServer(db, Settings(db_url=url)).start()
        other = make_kiosk(tmp_path, STORE, "till-2", server.url, service.add_device(db, STORE, "till-2"))
        with other.opened() as store:
            fill(store, 30, START.replace(day=22), seed=3)
        assert sync_once(other).ok

        stale = answers_page(server.url, admin, after=cursor)
        assert stale.status_code == 409 and "restore" in stale.json()["detail"], stale.text
        restart = int(stale.headers["X-Restart-After"])
        assert restart == int(before_dump.headers["X-Next-After"])
        caught_up = answers_page(server.url, admin, after=restart, limit=10_000)
        new_ones = [json.loads(line) for line in caught_up.text.splitlines()]
        assert {row["device_id"] for row in new_ones} == {"till-2"} and len(new_ones) == 30
        # Numbered above anything handed out before the restore: a cursor kept from then misses nothing.
        assert min(row["seq"] for row in new_ones) > cursor
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin_conn:
            admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
