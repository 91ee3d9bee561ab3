"""The uploader against the real server over loopback, through a fault-injecting proxy where needed."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from kiosk.cli import main as kiosk_main
from sync.central import service
from sync.central.db import CentralDB, answers
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import Pairing, load_pairing
from sync.protocol import UPLOAD_PATH, answer_to_wire, upload_body
from sync.uploader import DrainResult, drain
from tests.integration.sync.conftest import KioskFactory, ServerFactory
from tests.integration.sync.harness import FaultProxy, KioskDir, LiveServer, fill

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def sync_once(
    kiosk: KioskDir, *, batch_size: int = 200, timeout: float = 5.0, url: str | None = None
) -> DrainResult:
    pairing = load_pairing(kiosk.data_dir)
    if url is not None:
        pairing = Pairing(url, pairing.token)
    client = CentralClient(pairing, timeout=(2.0, timeout))
    try:
        with kiosk.opened() as store:
            return drain(Outbox(store), client, kiosk.store_id, kiosk.device_id, batch_size=batch_size)
    finally:
        client.close()


def central_count(db: CentralDB, store_id: str | None = None) -> int:
    query = select(func.count()).select_from(answers)
    if store_id is not None:
        query = query.where(answers.c.store_id == store_id)
    with db.reading() as conn:
        return int(conn.execute(query).scalar_one())


def local(kiosk: KioskDir) -> tuple[int, int]:
    """(answers, pending) on the kiosk."""
    with kiosk.opened() as store:
        return store.answer_count(), Outbox(store).pending_count()


def test_upload_then_reupload_counts_once(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 450, START)
    total, pending = local(kiosk)
    assert pending == total

    result = sync_once(kiosk)
    assert result.ok and result.synced == total
    assert local(kiosk) == (total, 0)
    assert central_count(central_db) == total

    # Forget every mark (as if the local marks were lost) and send everything again: all duplicates.
    with kiosk.opened() as store:
        store.db.execute("UPDATE answers SET synced_at = NULL")
        assert Outbox(store).pending_count() == total
    again = sync_once(kiosk)
    assert again.ok and again.synced == total
    assert central_count(central_db) == total


def test_central_scores_equal_kiosk_scores(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        # Two store-local days, with repeated presses (spacing below the 10 s window) among them.
        fill(store, 600, START, spacing_s=4, seed=7)
        fill(store, 300, START + dt.timedelta(days=1), spacing_s=20, seed=8)
    assert sync_once(kiosk).ok
    service.set_config(central_db, kiosk.store_id, (kiosk.data_dir / "kiosk.toml").read_text())
    admin = service.add_admin(central_db, "boss")
    central = requests.get(
        f"{server.url}/api/v1/stores/{kiosk.store_id}/scores",
        params={"from": "2026-11-19", "to": "2026-11-22"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert central.status_code == 200
    result = CliRunner().invoke(
        kiosk_main,
        ["scores", "--from", "2026-11-19", "--to", "2026-11-22", "--json", "--data-dir", str(kiosk.data_dir)],
    )
    assert result.exit_code == 0, result.output
    mine = json.loads(result.output)
    assert central.json() == mine
    assert any(q["excluded"] for day in mine["days"] for q in day["questions"].values())


def test_server_down_then_back(
    start_server: ServerFactory, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    server = start_server()
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 100, START)
    total, _ = local(kiosk)
    port = server.port
    server.stop()

    down = sync_once(kiosk)
    assert not down.ok and "cannot reach" in (down.reason or "")
    assert local(kiosk) == (total, total)
    with kiosk.opened() as store:
        status = Outbox(store).status()
    assert status.last_error and status.next_attempt_at and status.last_success_at is None

    from tests.integration.sync.harness import LiveServer as Live

    back = Live(central_db, server.settings, port=port).start()
    try:
        assert sync_once(kiosk).ok
    finally:
        back.stop()
    assert local(kiosk) == (total, 0)
    with kiosk.opened() as store:
        status = Outbox(store).status()
    assert status.last_error is None and status.last_success_at is not None
    assert central_count(central_db) == total


def test_500_captive_portal_and_429_are_not_success(
    proxy: FaultProxy, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=proxy.url)
    with kiosk.opened() as store:
        fill(store, 50, START)
    total, _ = local(kiosk)

    proxy.fail_next("http500")
    failed = sync_once(kiosk)
    assert not failed.ok and "HTTP 500" in (failed.reason or "")
    assert local(kiosk) == (total, total)

    proxy.fail_next("portal")
    portal = sync_once(kiosk)
    assert not portal.ok and "not an answer from the central API" in (portal.reason or "")
    assert local(kiosk) == (total, total)

    proxy.fail_next("http429")
    busy = sync_once(kiosk)
    assert not busy.ok and busy.retry_in is not None and busy.retry_in >= 120  # Retry-After: 120 honoured
    with kiosk.opened() as store:
        due = Outbox(store).status().next_attempt_at
    assert due is not None and dt.datetime.fromisoformat(due) > dt.datetime.now(dt.UTC) + dt.timedelta(
        seconds=100
    )

    assert sync_once(kiosk).ok
    assert central_count(central_db) == total


def test_reset_after_server_commit_resend_is_duplicate(
    proxy: FaultProxy, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=proxy.url)
    with kiosk.opened() as store:
        fill(store, 120, START)
    total, _ = local(kiosk)

    proxy.fail_next("reset_after_response")
    lost = sync_once(kiosk, batch_size=500)
    assert not lost.ok
    # The server has them all, the kiosk does not know it: nothing marked, nothing lost.
    assert central_count(central_db) == total
    assert local(kiosk) == (total, total)

    # The resend is answered "duplicate" for every answer and counts as delivered; no second copy.
    with kiosk.opened() as store:
        batch = Outbox(store).pending_batch(500)
    client = CentralClient(load_pairing(kiosk.data_dir), timeout=(2, 5))
    reply = client.upload(
        upload_body(
            kiosk.store_id, kiosk.device_id, "2026-11-24T00:00:00.000Z", [answer_to_wire(r) for r in batch]
        )
    )
    client.close()
    body = json.loads(reply.body)  # type: ignore[union-attr]
    assert body["accepted"] == [] and len(body["duplicate"]) == total
    assert sync_once(kiosk).ok
    assert local(kiosk) == (total, 0)
    assert central_count(central_db) == total


def test_timeout_keeps_data(proxy: FaultProxy, new_kiosk: KioskFactory, central_db: CentralDB) -> None:
    kiosk = new_kiosk(url=proxy.url)
    with kiosk.opened() as store:
        fill(store, 30, START)
    total, _ = local(kiosk)
    proxy.fail_next("blackhole")
    slow = sync_once(kiosk, timeout=0.5)
    assert not slow.ok and "within 0.5 s" in (slow.reason or "")
    assert local(kiosk) == (total, total)
    assert sync_once(kiosk).ok
    assert central_count(central_db) == total


def test_413_shrinks_batches(
    start_server: ServerFactory, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    # Small body limit and a smaller announced maximum than the kiosk's default.
    server = start_server(max_body_bytes=6_000, max_batch=400)
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 700, START)
    total, _ = local(kiosk)
    result = sync_once(kiosk, batch_size=500)
    assert result.ok and result.synced == total
    assert central_count(central_db) == total
    with kiosk.opened() as store:
        assert Outbox(store).state()["max_batch"] == "400"


def test_revoked_token_stops_and_shows(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 20, START)
    service.revoke_device(central_db, kiosk.store_id, kiosk.device_id)
    result = sync_once(kiosk)
    assert not result.ok and result.auth_problem and "revoked" in (result.reason or "")

    runner = CliRunner()
    status = runner.invoke(kiosk_main, ["status", "--json", "--data-dir", str(kiosk.data_dir)])
    report = json.loads(status.output)
    assert "revoked" in report["auth_problem"] and report["pending"] > 0
    cli = runner.invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert cli.exit_code == 1 and "kiosk pair" in cli.output and "Traceback" not in cli.output

    # Head office issues a new token; pairing again clears the problem.
    token = service.add_device(central_db, kiosk.store_id, kiosk.device_id)
    assert (
        runner.invoke(
            kiosk_main,
            ["pair", server.url, "--token-stdin", "--data-dir", str(kiosk.data_dir)],
            input=token + "\n",
        ).exit_code
        == 0
    )
    ok = runner.invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert ok.exit_code == 0, ok.output
    assert (
        json.loads(runner.invoke(kiosk_main, ["status", "--json", "--data-dir", str(kiosk.data_dir)]).output)[
            "auth_problem"
        ]
        is None
    )


KILLER = """
import os, sys
from pathlib import Path
import requests
from kiosk.bootstrap import open_kiosk
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import load_pairing
from sync.uploader import drain

data_dir = Path(sys.argv[1])
kiosk = open_kiosk(data_dir)
session = requests.Session()
# Killed the moment the server's answer arrives: after its commit, before the local mark.
session.hooks["response"].append(lambda *a, **k: os._exit(137))
drain(Outbox(kiosk.store), CentralClient(load_pairing(data_dir), session=session),
      kiosk.config.store.id, kiosk.config.device_id, batch_size=100)
"""


def test_kiosk_killed_between_server_commit_and_local_mark(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        fill(store, 250, START)
    total, _ = local(kiosk)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(kiosk.data_dir)], env={**os.environ}, timeout=60
    )
    assert killed.returncode == 137
    assert central_count(central_db) == 100  # the first batch reached the server
    assert local(kiosk) == (total, total)  # but the kiosk never marked it
    assert sync_once(kiosk).ok
    assert local(kiosk) == (total, 0)
    assert central_count(central_db) == total


def test_two_kiosks_of_two_stores(server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB) -> None:
    paris = new_kiosk("paris-01", "till-1", url=server.url)
    lyon = new_kiosk("lyon-02", "till-1", url=server.url)
    with paris.opened() as store:
        fill(store, 150, START, seed=1)
    with lyon.opened() as store:
        fill(store, 90, START, seed=2)
    assert sync_once(paris).ok and sync_once(lyon).ok
    assert central_count(central_db, "paris-01") == local(paris)[0]
    assert central_count(central_db, "lyon-02") == local(lyon)[0]
    admin = service.add_admin(central_db, "boss")
    headers = {"Authorization": f"Bearer {admin}"}
    stores = requests.get(f"{server.url}/api/v1/stores", headers=headers, timeout=10).json()
    assert {s["store"]: s["answers"] for s in stores} == {
        "paris-01": local(paris)[0],
        "lyon-02": local(lyon)[0],
    }
    assert all(s["devices"][0]["last_seen_at"] for s in stores)
    # Paged export: every answer of the store exactly once, in pages.
    seen: list[str] = []
    after = 0
    while True:
        page = requests.get(
            f"{server.url}/api/v1/stores/lyon-02/answers",
            params={"after": after, "limit": 40},
            headers=headers,
            timeout=10,
        )
        lines = [json.loads(line) for line in page.text.splitlines()]
        if not lines:
            break
        seen += [line["id"] for line in lines]
        assert {line["store_id"] for line in lines} == {"lyon-02"}
        after = int(page.headers["X-Next-After"])
    assert len(seen) == len(set(seen)) == local(lyon)[0]
    csv_page = requests.get(
        f"{server.url}/api/v1/stores/lyon-02/answers",
        params={"format": "csv", "limit": 5},
        headers=headers,
        timeout=10,
    )
    assert (
        csv_page.text.splitlines()[0].startswith("seq,id,store_id") and len(csv_page.text.splitlines()) == 6
    )
    # A device token reads nothing.
    device_token = load_pairing(paris.data_dir).token
    assert (
        requests.get(
            f"{server.url}/api/v1/stores", headers={"Authorization": f"Bearer {device_token}"}, timeout=10
        ).status_code
        == 403
    )


def test_device_cannot_write_another_store(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    paris = new_kiosk("paris-01", "till-1", url=server.url)
    lyon = new_kiosk("lyon-02", "till-1", url=server.url)
    with paris.opened() as store:
        fill(store, 20, START, seed=1)
        batch = Outbox(store).pending_batch(100)
    assert sync_once(paris).ok
    wire = [answer_to_wire(r) for r in batch]
    lyon_client = CentralClient(load_pairing(lyon.data_dir), timeout=(2, 5))
    # Claiming to be Paris with Lyon's token: refused as a whole.
    reply = lyon_client.upload(upload_body("paris-01", "till-1", "2026-11-24T00:00:00.000Z", wire))
    assert reply.status == 403  # type: ignore[union-attr]
    # Sending Paris's answer ids as Lyon's: ids are each device's own, so Lyon learns nothing about
    # Paris's (before: 20 conflicts "stored with other store_id", and Lyon's answers were quarantined).
    reply = lyon_client.upload(upload_body("lyon-02", "till-1", "2026-11-24T00:00:00.000Z", wire))
    body = json.loads(reply.body)  # type: ignore[union-attr]
    assert body["conflict"] == [] and body["duplicate"] == [] and len(body["accepted"]) == len(wire)
    lyon_client.close()
    assert central_count(central_db, "lyon-02") == len(wire)
    assert central_count(central_db, "paris-01") == len(wire)
    # Paris's own resend is still recognised as its own.
    with paris.opened() as store:
        store.db.execute("UPDATE answers SET synced_at = NULL")
    assert sync_once(paris).synced == len(wire)
    assert central_count(central_db, "paris-01") == len(wire)


def test_conflicts_and_impossible_times_are_kept(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    paris = new_kiosk("paris-01", "till-1", url=server.url)
    other = paris
    with paris.opened() as store:
        fill(store, 10, START, seed=1)
        # A Raspberry Pi that booted in 1970.
        fill(store, 3, dt.datetime(1970, 1, 1, 0, 5, tzinfo=dt.UTC), seed=3)
    assert sync_once(paris).ok
    with paris.opened() as store:
        # The same ids sent again with other content (a kiosk whose database was tampered with).
        store.db.execute("DROP TRIGGER answers_immutable")
        store.db.execute("UPDATE answers SET synced_at = NULL, language = 'en'")
    result = sync_once(other)
    assert result.ok and result.quarantined == local(other)[0]
    runner = CliRunner()
    report = json.loads(
        runner.invoke(kiosk_main, ["status", "--json", "--data-dir", str(other.data_dir)]).output
    )
    assert report["quarantined"] == local(other)[0] and report["pending"] == 0
    lines = runner.invoke(kiosk_main, ["status", "--quarantined", "--data-dir", str(other.data_dir)]).output
    first = json.loads(lines.splitlines()[0])
    assert first["status"] == "conflict" and "language" in first["reason"]
    # Kept locally and exportable with the rest.
    exported = runner.invoke(kiosk_main, ["export", "--data-dir", str(other.data_dir)]).output
    assert len(exported.splitlines()) == local(other)[0] + 1
    # 1970 answers are stored, flagged, not lost.
    with central_db.reading() as conn:
        flags = (
            conn.execute(select(answers.c.clock_flag).where(answers.c.created_at < "1971")).scalars().all()
        )
    assert len(flags) == 3 and all(flags)


def test_gzip_bomb_and_deep_json_are_refused(server: LiveServer, new_kiosk: KioskFactory) -> None:
    kiosk = new_kiosk(url=server.url)
    token = load_pairing(kiosk.data_dir).token
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    bomb = gzip.compress(b'{"answers": "' + b"0" * 200_000_000 + b'"}', compresslevel=9)
    assert len(bomb) < 400_000
    reply = requests.post(server.url + UPLOAD_PATH, data=bomb, headers=headers, timeout=30)
    assert reply.status_code == 413
    deep = gzip.compress(b"[" * 100_000 + b"]" * 100_000)
    assert requests.post(server.url + UPLOAD_PATH, data=deep, headers=headers, timeout=30).status_code == 400
    big = b"x" * (5 * 1024 * 1024)
    assert (
        requests.post(
            server.url + UPLOAD_PATH, data=big, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code
        == 413
    )
    # Still serving.
    assert requests.get(server.url + "/api/v1/health", timeout=5).status_code == 200


def test_cli_sync_progress_and_exit_codes(proxy: FaultProxy, new_kiosk: KioskFactory, tmp_path: Path) -> None:
    kiosk = new_kiosk(url=proxy.url)
    with kiosk.opened() as store:
        fill(store, 60, START)
    runner = CliRunner()
    proxy.fail_next("http500")
    failed = runner.invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert failed.exit_code == 1
    assert "HTTP 500" in failed.output and "still pending (kept)" in failed.output
    done = runner.invoke(kiosk_main, ["sync", "--data-dir", str(kiosk.data_dir)])
    assert done.exit_code == 0 and "nothing pending" in done.output and "Uploading" in done.output
    assert (kiosk.data_dir / "central.json").stat().st_mode & 0o777 == 0o600
    unpaired = tmp_path / "nowhere"
    unpaired.mkdir()
    (unpaired / "kiosk.toml").write_text((kiosk.data_dir / "kiosk.toml").read_text())
    lonely = runner.invoke(kiosk_main, ["sync", "--data-dir", str(unpaired)])
    assert lonely.exit_code == 2 and "kiosk pair" in lonely.output
