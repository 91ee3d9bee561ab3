"""A configuration's rollout seen through real kiosks: central serves a version, the kiosk pulls it (the real
job over HTTP), applies it or refuses it, and its heartbeat tells head office, which shows each device as
applied, refused with the reason, or waiting. The heartbeat also carries the oldest unsynced answer."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select

from kiosk.config import default_config_text, load_config
from sync.central import configs, queries, service
from sync.central.db import CentralDB, devices
from sync.jobs import SyncJobs
from sync.remote_config import apply_pending_config
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer, fill, make_kiosk

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def status_of(db: CentralDB, store: str, device: str) -> configs.DeviceRollout:
    (found,) = [r for r in configs.rollout(db, [store]) if r.device == device]
    return found


def test_a_kiosk_reports_the_version_it_applied_and_its_oldest_unsynced_answer(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)  # head office set the store's first version
    first = configs.served_version(central_db, kiosk.store_id)
    assert first is not None
    with kiosk.opened() as store:
        fill(store, 5, START)
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    jobs.heartbeat()
    waiting = status_of(central_db, kiosk.store_id, kiosk.device_id)
    assert waiting.status == "pending" and waiting.current == first and waiting.applied is None
    with central_db.reading() as conn:
        row = conn.execute(select(devices).where(devices.c.device_id == kiosk.device_id)).one()
    # The oldest pending answer was made at START (device clock); central keeps its own time minus its age.
    oldest = dt.datetime.fromisoformat(row.oldest_unsynced_at)
    assert abs((oldest - START).total_seconds()) < 60
    fleet = queries.fleet(central_db, None, service.now_utc())["devices"][0]
    assert fleet["oldest_unsynced_age_s"] >= (service.now_utc() - START).total_seconds() - 60

    assert jobs.pull_config() is not None
    apply_pending_config(kiosk.data_dir)
    jobs.heartbeat()
    applied = status_of(central_db, kiosk.store_id, kiosk.device_id)
    assert applied.status == "applied" and applied.applied == first
    served = service.store_config(central_db, kiosk.store_id)
    assert served is not None
    with central_db.reading() as conn:
        digest = conn.execute(select(devices.c.config_digest)).scalar_one()
    from sync.central.routers.device import served_config

    text, _etag = served_config(central_db, kiosk.store_id, *served)
    assert digest == hashlib.sha256(text.encode()).hexdigest()

    # A new version: waiting again until the kiosk pulled, applied and said so.
    renamed = served[0].replace('name = "Paris-01"', 'name = "Paris Rivoli"')
    service.set_config(central_db, kiosk.store_id, renamed, actor="alice")
    second = configs.served_version(central_db, kiosk.store_id)
    assert second is not None and second > first
    assert status_of(central_db, kiosk.store_id, kiosk.device_id).status == "pending"
    jobs.pull_config()
    apply_pending_config(kiosk.data_dir)
    jobs.heartbeat()
    assert status_of(central_db, kiosk.store_id, kiosk.device_id).applied == second
    assert status_of(central_db, kiosk.store_id, kiosk.device_id).status == "applied"
    # Once everything is sent, nothing is unsynced any more.
    jobs.upload()
    jobs.heartbeat()
    with central_db.reading() as conn:
        assert conn.execute(select(devices.c.oldest_unsynced_at)).scalar_one() is None


def test_a_kiosk_that_refuses_a_version_is_shown_refused_with_its_reason(
    server: LiveServer, central_db: CentralDB, tmp_path: Path
) -> None:
    # A kiosk set up for paris-01 but paired with a device token of lyon-02 (a mix-up at install time):
    # it refuses lyon-02's file, and head office sees why.
    token = service.add_device(central_db, "lyon-02", "till-9")
    kiosk = make_kiosk(tmp_path, "paris-01", "till-9", server.url, token)
    service.set_config(central_db, "lyon-02", default_config_text("lyon-02", "any", "Europe/Paris", "Lyon"))
    version = configs.served_version(central_db, "lyon-02")
    jobs = SyncJobs(kiosk.data_dir, load_config(kiosk.data_dir / "kiosk.toml"))
    assert jobs.pull_config() is None
    jobs.heartbeat()
    refused = status_of(central_db, "lyon-02", "till-9")
    assert refused.status == "refused" and refused.refused == version
    assert refused.refused_reason and "'lyon-02', not 'paris-01'" in refused.refused_reason
    device = queries.fleet(central_db, None, service.now_utc())["devices"][0]
    assert device["config_status"] == "refused" and "lyon-02" in device["config_refused_reason"]


def test_an_older_kiosk_without_the_new_fields_keeps_working(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    service.heartbeat(
        central_db,
        service.DeviceIdentity(kiosk.store_id, kiosk.device_id),
        {
            "app_version": "0.8.0",
            "pending": 3,
            "config_version": "not a number",
            "config_refused": "x",
            "oldest_unsynced_age_s": 2**40,  # a broken clock: unknown, never a 500
        },
        service.now_utc(),
    )
    state = status_of(central_db, kiosk.store_id, kiosk.device_id)
    assert state.status == "pending" and state.applied is None and state.refused is None
    with central_db.reading() as conn:
        assert conn.execute(select(devices.c.oldest_unsynced_at)).scalar_one() is None


def test_revision_0009_gives_each_configured_store_its_first_version(db_url: str) -> None:
    from sqlalchemy import text as sql

    from sync.central.db import config_versions, drop_schema, migrate, stores

    db = CentralDB(db_url, create=False)
    drop_schema(db.engine)
    migrate(db.engine, "0006")
    config = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris")
    with db.engine.begin() as conn:
        conn.execute(
            sql(
                "INSERT INTO stores (id, config_toml, config_etag, updated_at) VALUES "
                "('paris-01', :config, '\"e\"', '2026-11-02T10:00:00.000Z'), ('lyon-02', NULL, NULL, 'x')"
            ),
            {"config": config},
        )
    migrate(db.engine)
    with db.reading() as conn:
        (row,) = conn.execute(select(config_versions)).all()
        served = dict(conn.execute(select(stores.c.id, stores.c.config_version)).all())
    assert (row.scope, row.target, row.actor, row.created_at) == (
        "store",
        "paris-01",
        "migration",
        "2026-11-02T10:00:00.000Z",
    )
    assert row.digest == hashlib.sha256(config.encode()).hexdigest()
    assert served == {"paris-01": row.seq, "lyon-02": None}
    db.dispose()


def test_pushes_at_once_leave_every_store_on_the_newest_version(central_db: CentralDB) -> None:
    import threading

    from sync.central.db import stores
    from sync.central.directory import set_stores

    set_stores(
        central_db,
        "test",
        '[groups.north]\nname = "North"\n'
        + "".join(
            f'[stores.s{i}]\nname = "S{i}"\ngroup = "north"\ntimezone = "Europe/Paris"\n' for i in range(4)
        ),
    )
    base = default_config_text("x", "any", "Europe/Paris", "x")
    group_text = base.split("[store]")[0] + "[device]" + base.split("[device]", 1)[1]
    errors: list[BaseException] = []

    def push(n: int) -> None:
        try:
            text = group_text.replace("How was your visit today?", f"Visit {n}?")
            configs.push(central_db, "group", "north", text, f"user{n}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    newest = configs.history(central_db, "group", "north")[0].version.seq
    with central_db.reading() as conn:
        served = set(conn.execute(select(stores.c.config_version).where(stores.c.id.like("s%"))).scalars())
    assert served == {newest}
