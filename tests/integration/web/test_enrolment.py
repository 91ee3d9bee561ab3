"""Enrolment: a one-time short code from the CLI or the fleet page, exchanged by `kiosk pair URL --code`
for the device token; 15 minutes, 5 tries, revocable, spent by its first use. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_main
from sync.central import enrolment, service
from sync.central.cli import main as central_main
from sync.central.db import CentralDB
from tests.integration.sync.harness import LiveServer
from tests.integration.web.conftest import AppFactory, csrf_of, sign_in


@pytest.fixture
def live(directory_db: CentralDB) -> Iterator[LiveServer]:
    server = LiveServer(directory_db).start()
    yield server
    server.stop()


def kiosk_dir(tmp_path: Path, store: str, device: str) -> Path:
    data_dir = tmp_path / f"{store}-{device}"
    result = CliRunner().invoke(
        kiosk_main, ["init", "--store-id", store, "--device-id", device, "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    return data_dir


def test_a_kiosk_pairs_with_a_code_from_the_command_line(
    directory_db: CentralDB, live: LiveServer, tmp_path: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        central_main, ["enrol", "--store", "paris-01", "--device", "till-7", "--db", directory_db.url]
    )
    assert made.exit_code == 0, made.output
    code = made.stdout.strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    data_dir = kiosk_dir(tmp_path, "paris-01", "till-7")
    paired = runner.invoke(
        kiosk_main, ["pair", live.url, "--code", "--data-dir", str(data_dir)], input=code.lower() + "\n"
    )
    assert paired.exit_code == 0, paired.output
    token = json.loads((data_dir / "central.json").read_text())["token"]
    assert service.authenticate_device(directory_db, token) == service.DeviceIdentity("paris-01", "till-7")
    assert code not in (data_dir / "central.json").read_text()
    # Spent: the same code again is refused, with the reason, and nothing is written.
    again = runner.invoke(
        kiosk_main,
        ["pair", live.url, "--code", "--data-dir", str(kiosk_dir(tmp_path, "paris-01", "till-7b"))],
        input=code + "\n",
    )
    assert again.exit_code != 0 and "no enrolment code is waiting" in again.output
    both = runner.invoke(
        kiosk_main, ["pair", live.url, "a.b", "--code", "--data-dir", str(data_dir)], input=code + "\n"
    )
    assert both.exit_code != 0 and "not both" in both.output
    assert runner.invoke(central_main, ["enrol", "--help"]).exit_code == 0


def test_codes_expire_run_out_of_tries_and_can_be_revoked(directory_db: CentralDB) -> None:
    now = service.now_utc()
    old = enrolment.create_code(directory_db, "test", "paris-01", "old", now - dt.timedelta(minutes=16))
    with pytest.raises(service.CentralError, match="expired"):
        enrolment.redeem(directory_db, "paris-01", "old", old.code, now)
    code = enrolment.create_code(directory_db, "test", "paris-01", "guess", now)
    for left in range(enrolment.TRIES - 1, -1, -1):
        with pytest.raises(service.CentralError, match=f"wrong enrolment code \\({left} tr"):
            enrolment.redeem(directory_db, "paris-01", "guess", "AAAA-AAAA", now)
    with pytest.raises(service.CentralError, match="too many wrong codes"):
        enrolment.redeem(directory_db, "paris-01", "guess", code.code, now)
    revoked = enrolment.create_code(directory_db, "test", "paris-01", "gone", now)
    assert enrolment.revoke_code(directory_db, "test", "paris-01", "gone")
    with pytest.raises(service.CentralError, match="no enrolment code is waiting"):
        enrolment.redeem(directory_db, "paris-01", "gone", revoked.code, now)
    fresh = enrolment.create_code(directory_db, "test", "paris-01", "ok", now)
    assert service.authenticate_device(
        directory_db, enrolment.redeem(directory_db, "paris-01", "ok", fresh.code.replace("-", " "), now)
    )


def test_an_admin_adds_a_device_on_the_fleet_page(directory_db: CentralDB, make_client: AppFactory) -> None:
    admin = sign_in(make_client(), "alice")
    page = admin.get("/fleet")
    token = csrf_of(page.text)
    assert (
        admin.post("/fleet/enrol", data={"store": "lille-02", "device": "till-2"}).status_code == 403
    )  # no CSRF
    shown = admin.post("/fleet/enrol", data={"csrf_token": token, "store": "lille-02", "device": "till-2"})
    assert shown.status_code == 200
    code = re.search(r'id="enrolment-code">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    assert "lille-02/till-2" in admin.get("/fleet").text  # waiting, without the code
    assert code not in admin.get("/fleet").text
    reply = make_client().post(
        "/api/v1/device/enrol", json={"store": "lille-02", "device": "till-2", "code": code}
    )
    assert reply.status_code == 200 and reply.json()["token"]
    wrong = make_client().post(
        "/api/v1/device/enrol", json={"store": "lille-02", "device": "till-2", "code": code}
    )
    assert wrong.status_code == 403
    assert make_client().post("/api/v1/device/enrol", json={"store": 1}).status_code == 400
    viewer = sign_in(make_client(), "nora")
    page = viewer.get("/fleet")
    assert "Ajouter un appareil" not in page.text and "Add a device" not in page.text
    refused = viewer.post(
        "/fleet/enrol", data={"csrf_token": csrf_of(page.text), "store": "paris-01", "device": "x"}
    )
    assert refused.status_code == 403
    assert "device.enrolment-code" in admin.get("/admin/audit").text
