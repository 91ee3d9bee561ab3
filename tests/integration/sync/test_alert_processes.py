"""Delivery across real server processes: central killed with -9 between the alert's commit and its
delivery, and two processes on one PostgreSQL sharing the outbox (each message delivered once)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select, text

from kiosk.config import check_config_text
from sync.central import alerts, service
from sync.central.alert_rules import Rule, Target
from sync.central.db import CentralDB, alert_queue, drop_schema, migrate, outbox
from sync.central.db import alerts as alerts_table
from tests.integration.sync.alert_kit import Receiver, SmtpSink, free_port, wait_for
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.test_alerts import SECRET, configure, unhappy_visit
from tests.integration.sync.test_upload import sync_once

CENTRAL = str(Path(sys.executable).with_name("kiosk-central"))


def central_env(**extra: str) -> dict[str, str]:
    # Every KIOSK_CENTRAL_ setting is the test's own, but the session key (several processes share it).
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KIOSK_CENTRAL_") or k.endswith("SECRET_KEY")
    }
    env.update(KIOSK_CENTRAL_DELIVERY_POLL_S="0.1", KIOSK_CENTRAL_WEBHOOK_SECRET=SECRET, **extra)
    return env


def serve(db_url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [CENTRAL, "serve", "--db", db_url, "--port", str(port)],
        env=central_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, timeout=30, what="kiosk-central serve")
    return process


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections and never says a word (an SMTP server hung mid-greeting)."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=16)
    yield int(sock.getsockname()[1])
    sock.close()


def pending(db: CentralDB) -> list[tuple[str, int]]:
    with db.reading() as conn:
        return [(r.status, r.attempts) for r in conn.execute(select(outbox.c.status, outbox.c.attempts))]


def test_killed_between_commit_and_delivery_delivers_after_restart(
    central_db: CentralDB, new_kiosk: KioskFactory, tmp_path: Path, blackhole: int
) -> None:
    port = free_port()
    kiosk = new_kiosk(url=f"http://127.0.0.1:{port}")
    receiver = Receiver()
    sink = SmtpSink().start()
    try:
        configure(central_db, tmp_path, kiosk, receiver.url + "/hook")
        # The first process sends mail into a server that never answers, and webhooks nowhere.
        first = serve(central_db.url, port, KIOSK_CENTRAL_SMTP_URL=f"smtp://127.0.0.1:{blackhole}")
        receiver.status = 503
        now = service.now_utc()
        for minutes in (8, 6, 4, 2):
            unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes))
        assert sync_once(kiosk).ok
        wait_for(lambda: len(pending(central_db)) == 2, what="the alert's outbox rows")
        time.sleep(0.3)  # the worker is now stuck in the SMTP greeting
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert sink.count() == 0 and receiver.count() == 0
        assert ("pending", 0) in pending(central_db)

        receiver.status = 200
        second = serve(central_db.url, port, KIOSK_CENTRAL_SMTP_URL=sink.url)
        try:
            wait_for(lambda: sink.count() == 1, timeout=20, what="the mail after restart")
            # The webhook failed once (503) before the kill: it waits for its backoff, then goes. The mail's
            # outcome is committed just after the SMTP server took it (a moment the test could fall into).
            wait_for(lambda: [s for s, _ in pending(central_db)].count("sent") >= 1, what="the mail recorded")
            assert "4 of 4 answers unhappy" in str(sink.messages[0][1]["Subject"])
            time.sleep(0.5)
            assert sink.count() == 1
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        # Stopped within the wait (uvicorn ends by re-raising the SIGTERM it handled).
        assert second.returncode in (0, -signal.SIGTERM)
    finally:
        sink.stop()
        receiver.close()


def test_two_processes_on_postgresql_deliver_each_message_once(pg_database: str) -> None:
    db = CentralDB(pg_database, create=False)
    drop_schema(db.engine)
    migrate(db.engine)
    receiver = Receiver()
    processes = [
        subprocess.Popen(
            [CENTRAL, "deliver", "--db", pg_database],
            env=central_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stderr is not None
            assert b"delivering" in process.stderr.readline()
        rule = Rule("r", "negative_share", ("*",), (Target(receiver.url + "/hook"),))
        count = 120
        now = service.now_utc()
        with db.writing() as conn:
            for index in range(count):
                row = {
                    "id": f"alert-{index}",
                    "store_id": f"store-{index}",
                    "rule": "r",
                    "kind": "negative_share",
                    "status": "open",
                    "opened_at": service.format_utc(now),
                    "window_end": service.format_utc(now),
                    "summary": f"alert {index}",
                    "figures": "{}",
                }
                alerts.enqueue(conn, rule, alerts.OPENED, row, f"Store {index}", now)

        def all_sent() -> bool:
            return all(status == "sent" for status, _ in pending(db))

        wait_for(all_sent, timeout=60, what="every message sent")
        time.sleep(0.5)
        ids = [json.loads(r.body)["id"] for r in receiver.requests]
        assert len(ids) == count and len(set(ids)) == count
        senders = {r.headers["User-Agent"] for r in receiver.requests}
        assert len(senders) == 2, senders  # both processes took part
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(20)
        receiver.close()
        drop_schema(db.engine)
        db.dispose()


def queued(db: CentralDB) -> list[str]:
    with db.reading() as conn:
        return [str(slot) for slot in conn.execute(select(alert_queue.c.slot)).scalars()]


def test_upload_committed_but_not_evaluated_when_killed_is_evaluated_after_restart(
    central_db: CentralDB, new_kiosk: KioskFactory, tmp_path: Path
) -> None:
    port = free_port()
    kiosk = new_kiosk(url=f"http://127.0.0.1:{port}")
    receiver = Receiver()
    sink = SmtpSink().start()
    try:
        configure(central_db, tmp_path, kiosk, receiver.url + "/hook")
        now = service.now_utc()
        if central_db.is_sqlite:
            # SQLite readers cannot be held back: the upload is committed by the service itself, with no
            # server (the one that took it is gone before its worker ran).
            version = check_config_text((kiosk.data_dir / "kiosk.toml").read_text(), "t").survey.version
            batch = [
                {
                    "id": str(uuid.uuid4()),
                    "session": str(uuid.uuid4()),
                    "question": "satisfaction",
                    "value": "1",
                    "created_at": service.format_utc(now - dt.timedelta(minutes=minutes)),
                    "local_day": (now - dt.timedelta(minutes=minutes))
                    .astimezone(ZoneInfo("Europe/Paris"))
                    .date()
                    .isoformat(),
                    "language": "fr",
                    "survey_version": version,
                    "suspect": False,
                }
                for minutes in (8, 6, 4, 2)
            ]
            who = service.DeviceIdentity(kiosk.store_id, "till-1")
            assert len(service.ingest(central_db, who, batch, now).accepted) == 4
        else:
            for minutes in (8, 6, 4, 2):
                unhappy_visit(kiosk, now - dt.timedelta(minutes=minutes))
            # The first process takes the upload, and its worker waits for the rules (locked here by the
            # test) when it is killed: the answers are committed, the alert not evaluated.
            with central_db.engine.connect() as blocker, blocker.begin():
                blocker.execute(text("LOCK TABLE alert_rules IN ACCESS EXCLUSIVE MODE"))
                first = serve(central_db.url, port, KIOSK_CENTRAL_SMTP_URL=sink.url)
                assert sync_once(kiosk).ok
                time.sleep(0.5)
                first.send_signal(signal.SIGKILL)
                first.wait(10)
        assert queued(central_db) == ["pending"]
        with central_db.reading() as conn:
            assert conn.execute(select(func.count()).select_from(alerts_table)).scalar() == 0

        second = serve(central_db.url, port, KIOSK_CENTRAL_SMTP_URL=sink.url)
        try:
            wait_for(lambda: sink.count() == 1, timeout=20, what="the mail after restart")
            assert "4 of 4 answers unhappy" in str(sink.messages[0][1]["Subject"])
            wait_for(lambda: queued(central_db) == [], what="the queue emptied")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    finally:
        sink.stop()
        receiver.close()
