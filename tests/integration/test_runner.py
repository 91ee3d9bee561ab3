"""What `kiosk run` wires between the app and the sync: the sync state the manager screen shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from kiosk import bootstrap
from kiosk.bootstrap import open_kiosk
from kiosk.cli import main
from kiosk.storage import NewAnswer
from sync.outbox import Outbox
from sync.pairing import Pairing, save_pairing


def test_manager_sees_not_configured_then_pending_answers_and_the_auth_problem(tmp_path: Path) -> None:
    home = tmp_path / "kiosk"
    assert (
        CliRunner()
        .invoke(main, ["init", "--store-id", "s", "--device-id", "d", "--data-dir", str(home)])
        .exit_code
        == 0
    )
    kiosk = open_kiosk(home)
    try:
        assert not bootstrap.sync_state(kiosk).configured
        now = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)
        for minute in range(3):
            kiosk.recorder.record(NewAnswer("satisfaction", 4, now + dt.timedelta(minutes=minute)))
        save_pairing(home, Pairing(url="http://127.0.0.1:9", token="abc.def"))
        state = bootstrap.sync_state(kiosk)
        assert (state.configured, state.pending, state.last_success, state.last_error) == (
            True,
            3,
            None,
            None,
        )
        Outbox(kiosk.store).record_failure("401: token revoked", now, None, auth=True)
        assert "token revoked" in (bootstrap.sync_state(kiosk).last_error or "")
    finally:
        kiosk.close()
