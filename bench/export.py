"""Benchmark: `kiosk-central export` of a large store on PostgreSQL: rows per second and peak memory.

A fresh database gets N answers of one store (made by PostgreSQL itself, `generate_series`), then, in the
same run:
- baseline: PostgreSQL's own `COPY (SELECT the same columns ORDER BY seq) TO STDOUT (FORMAT csv)` into a
  file, through psycopg (the floor for getting these rows out);
- `kiosk-central export --store S -o FILE` (CSV) and `--format jsonl`, each a subprocess whose peak RSS is
  read from wait4();
- the same export of a small store (10 000 answers) in the same database: memory must stay flat, so the
  peak RSS of the big export should equal the small one's, not grow with N.

    python bench/export.py [N]      # default 1 000 000
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT
from sync.central.db import CentralDB
from sync.central.service import EXPORT_FIELDS

PG = "host=127.0.0.1 port=5432 user=postgres"
BIN = Path(sys.executable).parent

FILL = """
INSERT INTO answers (id, store_id, device_id, session_id, question_id, value, created_at, local_day, language,
                     survey_version, suspect, clock_flag, received_at)
SELECT md5(%(store)s || i)::uuid::text, %(store)s, 'till-' || (i %% 8), md5('s' || (i / 2))::uuid::text,
       CASE WHEN i %% 2 = 0 THEN 'satisfaction' ELSE 'recommend' END, (i %% 5 + 1)::text,
       to_char(timestamp '2026-01-01' + i * interval '13 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(timestamp '2026-01-01' + i * interval '13 seconds', 'YYYY-MM-DD'), 'fr', 'v1', i %% 97 = 0,
       NULL, '2026-06-01T00:00:00.000Z'
FROM generate_series(1, %(n)s) AS i
"""


def run_export(url: str, store: str, target: Path, *extra: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `kiosk-central export` run."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [BIN / "kiosk-central", "export", "--store", store, "-o", str(target), "--db", url, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"export failed with exit {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    name = f"kiosk_bench_export_{uuid.uuid4().hex[:8]}"
    OUT.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(f"{PG} dbname=test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        CentralDB(url).dispose()  # the schema
        with psycopg.connect(f"{PG} dbname={name}", autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(FILL, {"store": "big", "n": n})
            conn.execute(FILL, {"store": "small", "n": 10_000})
            conn.execute("VACUUM ANALYZE answers")
            print(f"filled {n:,} + 10,000 answers in {time.perf_counter() - started:.1f} s")
            columns = ", ".join(EXPORT_FIELDS)
            copy_file = OUT / "export-copy.csv"
            started = time.perf_counter()
            with copy_file.open("wb") as handle, conn.cursor() as cursor:
                query = f"COPY (SELECT {columns} FROM answers WHERE store_id = 'big' ORDER BY seq) TO STDOUT (FORMAT csv)"
                with cursor.copy(query) as copy:  # type: ignore[arg-type]
                    for block in copy:
                        handle.write(block)
            copy_s = time.perf_counter() - started
        print(f"baseline, COPY ... TO STDOUT (csv): {n / copy_s:,.0f} rows/s ({copy_s:.1f} s)")
        for fmt in ("csv", "jsonl"):
            target = OUT / f"export-big.{fmt}"
            seconds, rss = run_export(url, "big", target, "--format", fmt)
            lines = sum(1 for _ in target.open("rb")) - (1 if fmt == "csv" else 0)
            assert lines == n, (lines, n)
            _, small_rss = run_export(url, "small", OUT / f"export-small.{fmt}", "--format", fmt)
            print(
                f"kiosk-central export ({fmt}): {n / seconds:,.0f} rows/s ({seconds:.1f} s, "
                f"{target.stat().st_size / 1e6:.0f} MB), peak RSS {rss:.0f} MB; 10,000 answers: {small_rss:.0f} MB"
            )
    finally:
        with psycopg.connect(f"{PG} dbname=test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for path in OUT.glob("export-*"):
            path.unlink()


if __name__ == "__main__":
    main()
