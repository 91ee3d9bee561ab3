"""Benchmark: the head-office pages on a large central, SQLite and PostgreSQL.

Seeds a central with STORES stores x DAYS days of answers (PER_DAY answers a store a day: half
`satisfaction`, half `recommend`, one visit each), the store directory, and the rollups. The seed bypasses
ingest (which would take hours at 36 million answers): raw answers go in by PostgreSQL COPY or SQLite
executemany in big transactions, then every rollup is built by one INSERT ... SELECT over them, the index
parts by `rollups.rebuild_index` (the Alembic backfill). Then, in the same run:

- server time (in process, ASGI + query + template, no network) of the overview for 30 and 365 days and of
  a store page, p50 / p95, beside a naive GROUP BY over the raw answers for the same period and the ratio
  (naive p50 / page p95);
- the first load of the overview (HTML, CSS, JS) gzip-compressed as the server sends it;
- unless --no-ingest: ingest (batches of 500 answers through `service.ingest`) with the rollup hook and
  without it.

Prints figures and the load average; never asserts anything. Full scale (the issue's goal) is the default;
--scale 0.1 seeds a tenth of the stores. --keep keeps the seeded databases (bench/out/dashboard-SIZE.db and
the PostgreSQL database bench_dashboard_SIZE) and a later --keep run with the same size reuses them, after
upgrading them to the current schema with the Alembic revisions (as a live central is upgraded).

    .venv/bin/python bench/dashboard.py [--scale 1] [--stores 1000] [--days 365] [--per-day 100]
        [--db sqlite postgresql] [--runs 20] [--naive-runs 3] [--no-ingest] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import itertools
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("KIOSK_CENTRAL_SECRET_KEY", "bench-only-key-" + "x" * 40)

from fastapi.testclient import TestClient
from sqlalchemy import text

from bench.common import OUT
from kiosk.config import default_config_text
from sync.central import accounts, rollups, service
from sync.central.app import create_app
from sync.central.db import CentralDB, drop_schema, migrate, schema_revision, stores
from sync.central.directory import set_stores
from sync.central.service import DeviceIdentity
from sync.central.settings import Settings

PG_ADMIN = "host=127.0.0.1 user=postgres dbname=test"
PASSWORD = "bench password!"
END = dt.date(2026, 11, 30)
COLUMNS = (
    "id", "store_id", "device_id", "session_id", "question_id", "value", "created_at", "local_day",
    "language", "survey_version", "suspect", "received_at", "kind",
)  # fmt: skip


def store_ids(count: int) -> list[str]:
    return [f"s{i:04d}" for i in range(count)]


def directory_file(ids: list[str]) -> str:
    groups = "".join(
        f'[groups.g{g:02d}]\nname = "Region {g:02d}"\ntargets = {{ nps = 30, csat = 80 }}\n\n'
        for g in range(20)
    )
    hours = 'opening_hours = { mon = "09:00-19:00", tue = "09:00-19:00", wed = "09:00-19:00", thu = "09:00-19:00", fri = "09:00-19:00", sat = "09:00-19:00" }'
    entries = "".join(
        f'[stores.{s}]\nname = "Store {s}"\ngroup = "g{i % 20:02d}"\ntimezone = "Europe/Paris"\n{hours}\n\n'
        for i, s in enumerate(ids)
    )
    return groups + entries


def answer_rows(ids: list[str], days: int, per_day: int, seed: int = 3) -> Iterator[tuple[Any, ...]]:
    """Answers in store, day and time order with increasing ids and sessions (appended to every index, as
    a live central mostly is), about 2 % suspect."""
    rng = random.Random(seed)
    received = "2026-12-01T00:00:00.000Z"
    counter = 0
    choice, draw = rng.choice, rng.random
    for store in ids:
        mood = rng.uniform(0.4, 0.9)
        for back in range(days - 1, -1, -1):
            iso = (END - dt.timedelta(days=back)).isoformat()
            for v in range(max(1, per_day // 2)):
                happy = draw() < mood
                counter += 1
                session = f"{counter:032x}"
                at = f"{iso}T{9 + v % 10:02d}:{v % 60:02d}:00+01:00"
                suspect = draw() < 0.02
                sat = choice("45") if happy else choice("123")
                rec = choice(("8", "9", "10")) if happy else choice(("2", "5", "6", "7"))
                yield (f"a{counter:031x}", store, "till-1", session, "satisfaction", sat, at, iso, "fr", "v1",
                       suspect, received, "smiley5")  # fmt: skip
                yield (f"b{counter:031x}", store, "till-1", session, "recommend", rec, at, iso, "fr", "v1",
                       suspect, received, "nps")  # fmt: skip


def seed(db: CentralDB, ids: list[str], days: int, per_day: int) -> dict[str, float]:
    """Seed the central; returns the seconds each step took."""
    steps: dict[str, float] = {}
    started = time.perf_counter()
    drop_schema(db.engine)
    migrate(db.engine)
    set_stores(db, "bench", directory_file(ids))
    config = default_config_text("STORE", "till-1", "Europe/Paris", "Bench")
    with db.writing() as conn:
        for store in ids:
            conn.execute(
                stores.update()
                .where(stores.c.id == store)
                .values(config_toml=config.replace('"STORE"', f'"{store}"'), config_etag=f'"{store}"')
            )
    rows = answer_rows(ids, days, per_day)
    raw = db.engine.raw_connection()
    try:
        if db.is_sqlite:
            cursor = raw.cursor()
            # Seeding only: a crash loses the bench database, nothing else.
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")
            sql = f"INSERT INTO answers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            while chunk := list(itertools.islice(rows, 500_000)):
                cursor.executemany(sql, chunk)
                raw.commit()
        else:
            with raw.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
                with cursor.copy(f"COPY answers ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
    finally:
        raw.close()
    steps["answers"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO rollup_daily SELECT store_id, local_day, question_id, kind, value, suspect, count(*)"
                " FROM answers GROUP BY store_id, local_day, question_id, kind, value, suspect"
            )
        )
        conn.execute(
            text(
                "INSERT INTO rollup_monthly SELECT store_id, substr(local_day, 1, 7), question_id, kind, value,"
                " suspect, sum(n) FROM rollup_daily"
                " GROUP BY store_id, substr(local_day, 1, 7), question_id, kind, value, suspect"
            )
        )
        conn.execute(
            text(
                "INSERT INTO rollup_hourly SELECT store_id, local_day, CAST(substr(created_at, 12, 2) AS INTEGER),"
                " question_id, kind, value, suspect, count(*) FROM answers"
                " GROUP BY store_id, local_day, substr(created_at, 12, 2), question_id, kind, value, suspect"
            )
        )
        rollups.rebuild_index(conn)
    steps["rollups"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        if not db.is_sqlite:
            # The visibility map, so the rollups' index-only scans skip the heap, as autovacuum would.
            for table in ("rollup_daily", "rollup_monthly", "rollup_hourly", "rollup_index_daily",
                          "rollup_index_monthly"):  # fmt: skip
                conn.execute(text(f"VACUUM {table}"))
    steps["analyze"] = time.perf_counter() - started
    return steps


def _seeded(db: CentralDB) -> bool:
    """Whether a kept database was seeded to the end (its last step, ANALYZE, leaves sqlite_stat1 / stats)."""
    with db.reading() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM rollup_index_monthly")).scalar_one())


def timed(call: Callable[[], Any], runs: int, warm: bool = True) -> tuple[float, float]:
    if warm:
        call()  # warm: caches, the survey parse
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def naive(db: CentralDB, start: dt.date, end: dt.date) -> None:
    """What the overview needs, the naive way: every store's counts by question and value over raw answers."""
    with db.reading() as conn:
        conn.execute(
            text(
                "SELECT store_id, question_id, value, suspect, count(*) FROM answers"
                " WHERE local_day >= :a AND local_day <= :b GROUP BY store_id, question_id, value, suspect"
            ),
            {"a": start.isoformat(), "b": end.isoformat()},
        ).all()


def naive_store(db: CentralDB, store: str, start: dt.date, end: dt.date) -> None:
    """What a store page needs, the naive way: its counts by day, hour, question and value."""
    with db.reading() as conn:
        conn.execute(
            text(
                "SELECT local_day, substr(created_at, 12, 2), question_id, value, suspect, count(*) FROM answers"
                " WHERE store_id = :s AND local_day >= :a AND local_day <= :b"
                " GROUP BY local_day, substr(created_at, 12, 2), question_id, value, suspect"
            ),
            {"s": store, "a": start.isoformat(), "b": end.isoformat()},
        ).all()


def first_load(client: TestClient, path: str) -> int:
    """Bytes of the page and what it loads (CSS, JS), gzip level 5 like the server's middleware."""
    page = client.get(path)
    total = len(gzip.compress(page.content, 5))
    import re

    for asset in re.findall(r'(?:src|href)="(/static/[^"?]+)', page.text):
        total += len(gzip.compress(client.get(asset).content, 5))
    return total


def ingest_rate(db: CentralDB, with_rollups: bool, batches: int = 30) -> float:
    hook = rollups.after_insert
    if not with_rollups:
        rollups.after_insert = lambda db, conn, rows: None  # type: ignore[assignment]
    try:
        who = DeviceIdentity("s0000", "till-1")
        total = 0.0
        for b in range(batches):
            items = []
            for i in range(250):
                session = uuid.uuid4().hex
                at = f"2026-12-01T{9 + i % 10:02d}:{i % 60:02d}:{b % 60:02d}+01:00"
                for question, value in (("satisfaction", str(1 + i % 5)), ("recommend", str(i % 11))):
                    items.append({"id": str(uuid.uuid4()), "session": session, "question": question, "value": value,
                                  "created_at": at, "local_day": "2026-12-01", "language": "fr",
                                  "survey_version": "v1", "suspect": False})  # fmt: skip
            start = time.perf_counter()
            service.ingest(db, who, items, service.now_utc())
            total += time.perf_counter() - start
        return batches * 500 / total
    finally:
        rollups.after_insert = hook  # type: ignore[assignment]


def run(dialect: str, args: argparse.Namespace) -> None:
    size = f"{args.stores}x{args.days}x{args.per_day}"
    reuse = False
    if dialect == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / (f"dashboard-{size}.db" if args.keep else "dashboard.db")
        reuse = args.keep and path.exists()
        if not reuse:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        import psycopg

        name = f"bench_dashboard_{size}" if args.keep else f"bench_dashboard_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            reuse = (
                args.keep
                and admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            )
            if not reuse:
                admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"

        def cleanup() -> None:
            if args.keep:
                return
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    db = CentralDB(url, create=False)
    try:
        ids = store_ids(args.stores)
        load = os.getloadavg()
        if reuse and schema_revision(db.engine) is not None and _seeded(db):
            started = time.perf_counter()
            migrate(db.engine)
            steps = {"reused, upgraded": time.perf_counter() - started}
        else:
            steps = seed(db, ids, args.days, args.per_day)
        with db.reading() as conn:
            tables = (
                "answers",
                "rollup_daily",
                "rollup_monthly",
                "rollup_index_daily",
                "rollup_index_monthly",
            )
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
        print(f"\n== {dialect}: {args.stores} stores x {args.days} days x {args.per_day} answers/day, "
              f"{counts.pop('answers'):,} answers ({', '.join(f'{t} {n:,}' for t, n in counts.items())})")  # fmt: skip
        print(f"seeded (bypassing ingest) in {sum(steps.values()):.0f} s: "
              + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items())
              + f"; load average before {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
        if accounts.get_user(db, "hq") is None:
            accounts.add_user(db, "bench", "hq", "admin", PASSWORD)
        client = TestClient(create_app(Settings(db_url=url), db))
        login = client.get("/login")
        import re

        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "hq", "password": PASSWORD, "csrf_token": token})
        month = (END - dt.timedelta(days=29), END)
        year = (END - dt.timedelta(days=min(args.days, 365) - 1), END)
        for label, (start, end) in (("30 days", month), ("365 days", year)):
            query = f"from={start}&to={end}"
            p50, p95 = timed(lambda q=query: client.get(f"/?{q}").raise_for_status(), args.runs)
            api50, api95 = timed(
                lambda q=query: client.get(f"/api/v1/aggregate?{q}").raise_for_status(), args.runs
            )
            n50, n95 = timed(lambda s=start, e=end: naive(db, s, e), args.naive_runs, warm=False)
            print(f"overview {label:>8}: page p50 {p50:7.1f} ms  p95 {p95:7.1f} ms | JSON p50 {api50:7.1f} ms"
                  f"  p95 {api95:7.1f} ms | naive GROUP BY p50 {n50:8.1f} ms  p95 {n95:8.1f} ms"
                  f" | naive p50 / page p95 {n50 / p95:6.1f}x")  # fmt: skip
        for label, (start, end) in (("30 days", month), ("365 days", year)):
            query = f"from={start}&to={end}"
            s50, s95 = timed(lambda q=query: client.get(f"/stores/s0001?{q}").raise_for_status(), args.runs)
            n50, n95 = timed(lambda s=start, e=end: naive_store(db, "s0001", s, e), args.naive_runs)
            print(f"store page {label:>8}: p50 {s50:7.1f} ms  p95 {s95:7.1f} ms | naive GROUP BY (one store)"
                  f" p50 {n50:8.1f} ms  p95 {n95:8.1f} ms | naive p50 / page p95 {n50 / s95:6.1f}x")  # fmt: skip
        print(
            f"first load of the overview: {first_load(client, f'/?from={month[0]}&to={month[1]}') / 1024:.1f} KB gzip"
        )
        load = os.getloadavg()
        print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        if args.ingest:
            rates: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(2):
                for flag in (False, True):
                    rates[flag].append(ingest_rate(db, flag))
            plain, rolled = max(rates[False]), max(rates[True])
            print(f"ingest (batches of 500): without rollups {plain:,.0f} answers/s, with {rolled:,.0f} answers/s"
                  f" ({rolled / plain:.2f}x)")  # fmt: skip
    finally:
        db.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the stores (0.1: 100 stores)")
    parser.add_argument("--stores", type=int, default=1000, help="stores at scale 1")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=100, help="answers a store a day (2 per visit)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests a page")
    parser.add_argument("--naive-runs", type=int, default=3, help="timed naive queries (slow at full scale)")
    parser.add_argument("--no-ingest", dest="ingest", action="store_false", help="skip the ingest rates")
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases, reuse kept ones")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    args.stores = max(2, round(args.stores * args.scale))
    for dialect in args.db:
        run(dialect, args)


if __name__ == "__main__":
    main()
