"""The seam for head office's alerts: a heartbeat reply's `alerts` are kept and shown on the manager screen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kiosk.bootstrap import open_kiosk, sync_state
from kiosk.config import load_config
from sync.alerts import alerts_from_reply, read_open_alerts
from sync.jobs import SyncJobs
from sync.planner import HttpReply
from tests.integration.sync.conftest import KioskFactory

ALERT = {
    "id": "a-17",
    "rule": "unhappy_share",
    "opened_at": "2026-12-01T09:15:00+00:00",
    "summary": "62 % unhappy in 15 min (8 answers)",
}


class FakeClient:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def heartbeat(self, _payload: dict[str, Any]) -> HttpReply:
        return HttpReply(200, {}, json.dumps(self.body).encode())


def beat(monkeypatch: pytest.MonkeyPatch, jobs: SyncJobs, body: dict[str, Any]) -> None:
    @contextmanager
    def client(_self: SyncJobs) -> Iterator[FakeClient]:
        yield FakeClient(body)

    monkeypatch.setattr(SyncJobs, "_client", client)
    jobs.heartbeat()


def test_alerts_in_a_heartbeat_reply_reach_the_manager_screen(
    monkeypatch: pytest.MonkeyPatch, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url="https://central.invalid")
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    database = kiosk.data_dir / "kiosk.db"
    bad = {"id": "x", "rule": "r", "opened_at": "yesterday", "summary": "s"}
    beat(monkeypatch, jobs, {"server_time": "2026-12-01T09:20:00+00:00", "alerts": [ALERT, bad, 3]})
    assert read_open_alerts(database) == [ALERT]
    opened = open_kiosk(kiosk.data_dir)
    try:
        state = sync_state(opened)
        assert [(a.id, a.summary) for a in state.alerts] == [("a-17", ALERT["summary"])]
    finally:
        opened.close()
    beat(monkeypatch, jobs, {"server_time": "2026-12-01T09:25:00+00:00"})  # says nothing of alerts
    assert read_open_alerts(database) == [ALERT]
    beat(monkeypatch, jobs, {"server_time": "2026-12-01T09:30:00+00:00", "alerts": []})  # all closed
    assert read_open_alerts(database) == []


def test_a_reply_without_alerts_or_with_garbage_keeps_nothing_new() -> None:
    assert alerts_from_reply({"server_time": "x"}) is None
    assert alerts_from_reply({"alerts": "none"}) is None
    assert json.loads(alerts_from_reply({"alerts": [{"id": 1}]}) or "") == []
