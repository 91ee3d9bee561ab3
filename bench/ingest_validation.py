"""Benchmark: central ingest with the answer contract's validation beside the same ingest without it.

In process, on SQLite and PostgreSQL, the same run: batches of 500 realistic answers (visits of satisfaction,
a reason when unhappy, sometimes the recommendation) go through

- validated: `sync.central.service.ingest` (each answer checked against the survey version it names with
  kiosk.domain.answers.check_answer, the visit looked up, central's store-local day computed, the hook);
- bare: the fields checked and the same INSERT ... ON CONFLICT in one transaction, nothing else (what the
  round-1 ingest did, minus its duplicate look-up);

- unrolled: the validated ingest with the rollup hook turned off (issue #10: the rollups' own cost);
- unchecked: the validated ingest with the answer contract's checks turned off and nothing else (no survey
  version looked up, no visit looked up, no check_answer: each answer taken as sent), so validated/unchecked
  is the validation's own cost inside the same ingest (issue #9: "ingest with validation beside without");

rotating the order batch by batch so all share the machine's noise. Prints answers/s of each, the ratio
validated/unchecked and validated/bare (goal >= 0.9: the first is the checks alone, the second everything
today's ingest does beyond a bare insert) and validated/unrolled (with rollups beside without, goal >= 0.8).
Never asserts anything.

    .venv/bin/python bench/ingest_validation.py [--batches 40] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import check_config_text, default_config_text
from kiosk.domain.days import format_utc
from sync.central import rollups, service
from sync.central.db import CentralDB, devices, drop_schema, migrate
from sync.central.service import DeviceIdentity

PG_ADMIN = "host=127.0.0.1 user=postgres dbname=test"
NOW = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)


def batch(rng: random.Random, version: str, size: int, start: dt.datetime) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    at = start
    while len(items) < size:
        session = str(uuid.uuid4())
        face = rng.choice([1, 2, 3, 4, 5, 5, 4, 4])
        visit = [("satisfaction", str(face))]
        if face <= 2:
            visit.append(("reason", rng.choice(["waiting", "staff", "price"])))
        if rng.random() < 0.3:
            visit.append(("recommend", str(rng.randint(0, 10))))
        for offset, (question, value) in enumerate(visit):
            items.append(
                {
                    "id": str(uuid.uuid4()),
                    "session": session,
                    "question": question,
                    "value": value,
                    "created_at": format_utc(at + dt.timedelta(seconds=offset)),
                    "local_day": (at + dt.timedelta(seconds=offset)).date().isoformat(),
                    "language": "fr",
                    "survey_version": version,
                    "suspect": False,
                }
            )
        at += dt.timedelta(seconds=30)
    return items[:size]


def bare_ingest(db: CentralDB, who: DeviceIdentity, items: list[dict[str, Any]]) -> int:
    rows = []
    for item in items:
        row = service.check_answer_item(item, who, NOW)
        row.pop("_created")
        rows.append(row)
    with db.writing() as conn:
        inserted = service.insert_new_answers(db, conn, rows)
        conn.execute(
            devices.update()
            .where(devices.c.store_id == who.store_id, devices.c.device_id == who.device_id)
            .values(last_seen_at=format_utc(NOW))
        )
    return len(inserted)


def without_rollups(db: CentralDB, who: DeviceIdentity, items: list[dict[str, Any]]) -> int:
    hook = rollups.after_insert
    rollups.after_insert = lambda db, conn, rows: None  # type: ignore[assignment]
    try:
        return len(service.ingest(db, who, items, NOW, {}).accepted)
    finally:
        rollups.after_insert = hook  # type: ignore[assignment]


def without_checks(db: CentralDB, who: DeviceIdentity, items: list[dict[str, Any]], survey: Any) -> int:
    """The same ingest with the contract's checks replaced by taking each answer as sent (its kind read from
    the current survey, as the rollups need it)."""
    by_id = {q.id: q for q in survey.questions}
    saved = service.check_answer, service._batch_surveys, service._batch_visits
    service.check_answer = lambda _s, qid, value, _v=None: (by_id[qid], str(value))  # type: ignore[assignment]
    service._batch_surveys = lambda _db, _c, _w, names, _s, current: (  # type: ignore[assignment]
        dict.fromkeys(names, current),
        {},
    )
    service._batch_visits = lambda _c, _store, _visits: ({}, set())  # type: ignore[assignment]
    try:
        return len(service.ingest(db, who, items, NOW, {}).accepted)
    finally:
        service.check_answer, service._batch_surveys, service._batch_visits = saved  # type: ignore[assignment]


def run(db_url: str, batches: int, size: int) -> dict[str, float]:
    db = CentralDB(db_url, create=False)
    drop_schema(db.engine)
    migrate(db.engine)
    config = default_config_text("bench-01", "till-1", "Europe/Paris", "Bench")
    version = check_config_text(config, "bench").survey.version
    service.add_device(db, "bench-01", "till-1")
    service.add_device(db, "bench-01", "till-2")
    service.add_device(db, "bench-01", "till-3")
    service.add_device(db, "bench-01", "till-4")
    service.set_config(db, "bench-01", config)
    validated_who, bare_who = DeviceIdentity("bench-01", "till-1"), DeviceIdentity("bench-01", "till-2")
    unrolled_who = DeviceIdentity("bench-01", "till-3")
    unchecked_who = DeviceIdentity("bench-01", "till-4")
    survey = check_config_text(config, "bench").survey
    rng = random.Random(1)
    names = ["validated", "bare", "unrolled", "unchecked"]
    timings: dict[str, list[float]] = {name: [] for name in names}
    start = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    for number in range(batches):
        items = batch(rng, version, size, start + dt.timedelta(hours=number))
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order:
            fresh = [dict(i, id=str(uuid.uuid4())) for i in items]
            began = time.perf_counter()
            if name == "validated":
                result = service.ingest(db, validated_who, fresh, NOW, {})
                assert len(result.accepted) == size, result.rejected[:3]
            elif name == "unrolled":
                assert without_rollups(db, unrolled_who, fresh) == size
            elif name == "unchecked":
                assert without_checks(db, unchecked_who, fresh, survey) == size
            else:
                assert bare_ingest(db, bare_who, fresh) == size
            timings[name].append(time.perf_counter() - began)
    db.dispose()
    # The median batch: one slow fsync does not decide the figure.
    return {name: size / statistics.median(timings[name]) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for kind in args.db:
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "sqlite":
                rates = run(f"sqlite:///{Path(tmp) / 'central.db'}", args.batches, args.size)
            else:
                import psycopg

                name = f"bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                try:
                    rates = run(f"postgresql://postgres@127.0.0.1:5432/{name}", args.batches, args.size)
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        validated, bare, unrolled = rates["validated"], rates["bare"], rates["unrolled"]
        unchecked = rates["unchecked"]
        print(
            f"{kind:>10}: validated {validated:,.0f} answers/s, unchecked {unchecked:,.0f}, bare {bare:,.0f}, "
            f"validated without rollups {unrolled:,.0f} (median batch of {args.size}); "
            f"validated/unchecked {validated / unchecked:.2f} (the checks alone, goal >= 0.9), "
            f"validated/bare {validated / bare:.2f}, with/without rollups {validated / unrolled:.2f} (goal >= 0.8)",
            flush=True,
        )


if __name__ == "__main__":
    main()
