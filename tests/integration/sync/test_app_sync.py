"""`kiosk run` uploads by itself: the sync jobs start with the app and drain the backlog to head office."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer
from sync.central.db import CentralDB, answers
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer


def central_count(db: CentralDB) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_running_app_uploads_what_was_tapped(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB, tmp_path: Path
) -> None:
    kiosk = new_kiosk(url=server.url)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with kiosk.opened() as store:
        for minute, value in enumerate((5, 4, 2)):
            AnswerRecorder(store).record(
                NewAnswer("satisfaction", value, start + dt.timedelta(minutes=minute))
            )
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIOSK_REPORT_READY": "1"}
    env.pop("DISPLAY", None)
    app = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("kiosk")),
            "run",
            "--windowed",
            "--data-dir",
            str(kiosk.data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None and app.stdout.readline().startswith("ready"), app.stderr
        deadline = time.monotonic() + 40
        while central_count(central_db) < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert central_count(central_db) == 3
    finally:
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
    local = sqlite3.connect(kiosk.data_dir / "kiosk.db")
    assert local.execute("SELECT count(*) FROM answers WHERE synced_at IS NULL").fetchone() == (0,)
    local.close()
    assert app.returncode == 0
