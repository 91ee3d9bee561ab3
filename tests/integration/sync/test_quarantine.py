"""Answers head office refuses are visible at once (kiosk status, the heartbeat, central's store list, the
manager screen) with their reasons, and can be sent again once head office fixed the cause."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kiosk.bootstrap import sync_state
from kiosk.cli import main as kiosk_main
from kiosk.config import load_config
from sync.central import service
from sync.central.db import CentralDB
from sync.jobs import SyncJobs
from sync.pairing import pairing_path
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer

VERSIONED = '[survey]\nversion = "2026-11"'


def kiosk_cmd(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(kiosk_main, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_refused_answers_are_shown_with_their_reason_until_requeued(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url, configured=False)
    text = (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    local = text.replace("[survey]", VERSIONED)
    (kiosk.data_dir / "kiosk.toml").write_text(local, encoding="utf-8")
    # Head office reused the version name for a 4-face survey.
    four = local.replace('kind = "smiley5"', 'kind = "smiley4"').replace("max = 2", "max = 1")
    service.set_config(central_db, kiosk.store_id, four)
    assert kiosk_cmd(kiosk.data_dir, "record", "satisfaction", "5")[0] == 0
    assert kiosk_cmd(kiosk.data_dir, "record", "satisfaction", "3")[0] == 0

    code, _, err = kiosk_cmd(kiosk.data_dir, "sync")
    assert code == 0, err
    report = json.loads(kiosk_cmd(kiosk.data_dir, "status", "--json")[1])
    assert report["quarantined"] == 1 and report["pending"] == 0
    reason = "survey '2026-11': 'satisfaction' takes a whole number from 1 to 4; got 5"
    assert report["quarantine_reasons"] == [reason]
    # Before: last_error None ("0 pending, last success: now") while an answer was refused.
    assert "1 answers refused by head office" in report["last_error"] and reason in report["last_error"]
    assert reason in kiosk_cmd(kiosk.data_dir, "status")[1]
    # The manager screen's sync state carries the count and the reason.
    from kiosk.bootstrap import open_kiosk

    opened = open_kiosk(kiosk.data_dir)
    try:
        state = sync_state(opened)
    finally:
        opened.close()
    assert state.quarantined == 1 and state.last_error is not None and reason in state.last_error
    # The heartbeat takes the reasons to head office's store list.
    SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml")).heartbeat()
    (device,) = service.list_stores(central_db)[0]["devices"]
    assert device["quarantined"] == 1 and device["quarantine_reasons"] == [reason]

    # Head office fixes its configuration; the manager sends the refused answer again.
    service.set_config(central_db, kiosk.store_id, local)
    code, _, err = kiosk_cmd(kiosk.data_dir, "sync", "--requeue")
    assert code == 0, err
    report = json.loads(kiosk_cmd(kiosk.data_dir, "status", "--json")[1])
    assert report["quarantined"] == 0 and report["last_error"] is None and report["synced"] == 2


def test_a_survey_version_head_office_would_refuse_is_refused_at_config_load(tmp_path: Path) -> None:
    data_dir = tmp_path / "k"
    assert kiosk_cmd(data_dir, "init", "--store-id", "p", "--device-id", "d")[0] == 0
    path = data_dir / "kiosk.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("[survey]", '[survey]\nversion = "' + "v" * 65 + '"')
    )
    code, _, err = kiosk_cmd(data_dir, "record", "satisfaction", "4")
    # Before: accepted here, then every answer rejected by head office and quarantined for ever.
    assert code == 2 and f"{path}:15: survey.version: must be a text of at most 64 characters" in err


def test_a_session_id_head_office_would_refuse_is_a_line_error_on_import(tmp_path: Path) -> None:
    data_dir = tmp_path / "k"
    assert kiosk_cmd(data_dir, "init", "--store-id", "p", "--device-id", "d")[0] == 0
    file = tmp_path / "a.csv"
    file.write_text(
        "created_at,question,value,session\n2026-11-24T10:00:00,satisfaction,4," + "s" * 201 + "\n"
    )
    code, _, err = kiosk_cmd(data_dir, "import", str(file))
    assert code == 2 and f"{file}:2: session: longer than 200 characters" in err


def test_an_unreadable_central_json_is_an_error_the_manager_sees(
    server: LiveServer, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url=server.url)
    assert kiosk_cmd(kiosk.data_dir, "record", "satisfaction", "4")[0] == 0
    pairing_path(kiosk.data_dir).write_text("{not json", encoding="utf-8")
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    assert jobs.upload() is None
    report = json.loads(kiosk_cmd(kiosk.data_dir, "status", "--json")[1])
    # Before: nothing recorded; the scheduled upload stopped silently.
    assert report["last_error"] and "central.json" in report["last_error"]
