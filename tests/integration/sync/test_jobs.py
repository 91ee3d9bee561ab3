"""The scheduled jobs (APScheduler BackgroundScheduler) against the real server."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from sqlalchemy import select, update

from kiosk.config import load_config
from kiosk.domain.survey import KioskConfig
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer
from sync.central import service
from sync.central.db import CentralDB, devices, stores
from sync.jobs import JOB_IDS, SyncJobs, SyncSettings, start_scheduler
from sync.outbox import Outbox, read_status
from sync.remote_config import apply_pending_config, pending_path
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def test_scheduler_drains_the_backlog_and_reports(server: LiveServer, new_kiosk: KioskFactory) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 1200, START)
        total = store.answer_count()
    scores: list[dict[str, Any]] = []
    config = load_config(kiosk.data_dir / "kiosk.toml")
    service_ = start_scheduler(
        kiosk.data_dir,
        config,
        settings=SyncSettings(upload_every_s=0.5, batch_size=300, first_upload_after_s=0),
        on_scores=scores.append,
    )
    try:
        assert {job.id for job in service_.scheduler.get_jobs()} == set(JOB_IDS)
        for job in service_.scheduler.get_jobs():
            assert job.max_instances == 1 and job.misfire_grace_time >= 30
        deadline = time.monotonic() + 20
        while service_.status().pending and time.monotonic() < deadline:
            time.sleep(0.1)
        status = service_.status()
        assert status.pending == 0 and status.synced == total and status.last_success_at
        deadline = time.monotonic() + 5
        while not scores and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scores and {"store", "days", "final_through"} <= set(scores[0])
    finally:
        service_.shutdown()


def test_heartbeat_is_seen_by_head_office(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 5, START)
        total = store.answer_count()
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    jobs.heartbeat()
    with central_db.reading() as conn:
        row = conn.execute(select(devices).where(devices.c.device_id == kiosk.device_id)).one()
    assert row.last_seen_at and row.app_version and row.pending == total and row.free_disk_bytes > 0
    assert abs(row.clock_skew_s) < 60
    assert read_status(kiosk.data_dir / "kiosk.db").last_heartbeat_at


def test_config_pull_validates_and_applies_when_idle(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url, configured=False)
    current = load_config(kiosk.data_dir / "kiosk.toml")
    announced: list[KioskConfig] = []
    jobs = SyncJobs(kiosk.data_dir, current, on_config=announced.append)
    assert jobs.pull_config() is None  # nothing set at head office yet

    text = (
        (kiosk.data_dir / "kiosk.toml")
        .read_text()
        .replace('name = "Paris-01"', 'name = "Paris Rivoli"')
        .replace('id = "till-1"', 'id = "any-device"')
    )
    service.set_config(central_db, kiosk.store_id, text)
    pulled = jobs.pull_config()
    assert pulled is not None and pulled.store.name == "Paris Rivoli" and pulled.device_id == "till-1"
    assert announced == [pulled] and pending_path(kiosk.data_dir).exists()
    assert jobs.pull_config() is None  # 304: unchanged
    applied = apply_pending_config(kiosk.data_dir)
    assert applied == pulled and load_config(kiosk.data_dir / "kiosk.toml").store.name == "Paris Rivoli"

    # A configuration the kiosk refuses (here: for another store) is reported; the current one stays.
    bad = text.replace('id = "paris-01"', 'id = "lyon-02"')
    with central_db.writing() as conn:
        conn.execute(
            update(stores).where(stores.c.id == kiosk.store_id).values(config_toml=bad, config_etag='"x"')
        )
    assert jobs.pull_config() is None
    status = read_status(kiosk.data_dir / "kiosk.db")
    assert status.config_error and "lyon-02" in status.config_error
    assert not pending_path(kiosk.data_dir).exists()
    assert load_config(kiosk.data_dir / "kiosk.toml").store.name == "Paris Rivoli"


def test_retention_prunes_answers_a_set_time_after_their_upload(
    server: LiveServer, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 200, START - dt.timedelta(days=200), seed=1)
    config = load_config(kiosk.data_dir / "kiosk.toml")
    jobs = SyncJobs(kiosk.data_dir, config, SyncSettings(retention_days=90))
    result = jobs.upload()
    assert result is not None and result.ok
    with kiosk.opened() as store:
        fill(store, 50, START - dt.timedelta(days=199), seed=2)  # old but never synced
        old = store.answer_count()
        days = (START - dt.timedelta(days=201)).date(), START.date()
        before = store.count_rows(*days)
        exported = [
            NewAnswer(
                r["question_id"],
                r["value"],
                dt.datetime.fromisoformat(r["created_at"]),
                r["session_id"],
                r["language"],
                r["id"],
            )
            for r in store.answers()
        ]
    # Uploaded just now: kept for 90 days from now (before: pruned at once, 90 days after created_at).
    assert jobs.retention() == 0
    later = SyncJobs(
        kiosk.data_dir,
        config,
        SyncSettings(retention_days=90),
        clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=91),
    )
    pruned = later.retention()
    with kiosk.opened() as store:
        assert store.answer_count() == old - pruned and pruned == result.synced
        assert Outbox(store).pending_count() == old - pruned  # every unsynced one is still there
        assert store.count_rows(*days) == before  # scores of pruned days do not change
        # Importing the pruned answers again (an old export) counts nothing twice.
        result_again = AnswerRecorder(store).import_answers(exported)
        assert result_again.imported == 0 and store.count_rows(*days) == before


def test_retention_days_set_in_kiosk_toml_decides_what_is_pruned(
    server: LiveServer, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 40, START - dt.timedelta(days=100), seed=3)
    toml = kiosk.data_dir / "kiosk.toml"
    result = SyncJobs(kiosk.data_dir, load_config(toml)).upload()
    assert result is not None and result.ok and result.synced == 40

    def month_later() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=31)

    # The default keeps uploaded answers 90 days: a month after the upload, nothing goes.
    assert SyncJobs(kiosk.data_dir, load_config(toml), clock=month_later).retention() == 0
    toml.write_text(toml.read_text() + "\n[storage]\nretention_days = 30\n")
    assert SyncJobs(kiosk.data_dir, load_config(toml), clock=month_later).retention() == 40
    with kiosk.opened() as store:
        assert store.answer_count() == 0


def test_upload_job_waits_out_its_backoff(server: LiveServer, new_kiosk: KioskFactory) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 10, START)
        Outbox(store).record_failure(
            "HTTP 503", dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        )
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    assert jobs.upload() is None  # not due yet
    later = SyncJobs(
        kiosk.data_dir, jobs.config, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    )
    result = later.upload()
    assert result is not None and result.ok
    assert threading.active_count() >= 1


def test_a_backoff_set_while_the_clock_ran_far_ahead_does_not_stop_uploads(
    server: LiveServer, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url=server.url)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=200)  # a Pi that booted with a wrong clock
    with kiosk.opened() as store:
        fill(store, 10, START)
        Outbox(store).record_failure("TLS: certificate not yet valid", ahead, ahead + dt.timedelta(minutes=5))
    # NTP has corrected the clock: a retry 200 days away is not a backoff, it is a wrong date.
    result = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml")).upload()
    assert result is not None and result.ok
