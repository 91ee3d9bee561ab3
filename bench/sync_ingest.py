"""Benchmark: central ingest from 50 simulated kiosks at once, SQLite and PostgreSQL.

50 kiosks (threads spread over 5 client processes) each upload ready-made gzip batches of 500 answers to
`kiosk-central serve` (its own process(es), `--workers`, default 1) over loopback. Bodies are built before the clock
starts, so the figure is the server's (sharing the 2 cores with the clients). Prints answers/s; never
asserts anything.

    .venv/bin/python bench/sync_ingest.py [--kiosks 50] [--batches 4] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._central import CentralProcess, add_device
from kiosk.config import check_config_text, default_config_text
from sync.protocol import UPLOAD_PATH, upload_body

CONFIG = default_config_text("store", "till-1", "Europe/Paris", "Bench")
VERSION = check_config_text(CONFIG, "bench").survey.version

PROCESSES = 5
PG_ADMIN = "host=127.0.0.1 user=postgres dbname=test"


def bodies(store: str, batches: int, size: int) -> list[bytes]:
    out = []
    for b in range(batches):
        answers = [
            {
                "id": str(uuid.uuid4()),
                "session": str(uuid.uuid4()),
                "question": "satisfaction",
                "value": str(1 + (i % 5)),
                "created_at": f"2026-11-20T{8 + (i % 10):02d}:{i % 60:02d}:{b % 60:02d}.000Z",
                "local_day": "2026-11-20",
                "language": "fr",
                "survey_version": VERSION,
                "suspect": False,
            }
            for i in range(size)
        ]
        raw = json.dumps(
            upload_body(store, "till-1", "2026-11-20T12:00:00.000Z", answers), separators=(",", ":")
        )
        out.append(gzip.compress(raw.encode(), compresslevel=5))
    return out


def configure(db_url: str, stores: list[str]) -> None:
    """Head office configures each store first (answers of an unconfigured store wait: 503)."""
    from sync.central import service
    from sync.central.db import CentralDB

    db = CentralDB(db_url)
    try:
        for store in stores:
            service.set_config(db, store, CONFIG.replace('id = "store"', f'id = "{store}"', 1))
    finally:
        db.dispose()


def client_process(
    url: str, kiosks: list[tuple[str, str]], batches: int, size: int, start_at: float, queue: Any
) -> None:
    prepared = [(token, bodies(store, batches, size)) for store, token in kiosks]
    errors: list[int] = []

    def run(token: str, payloads: list[bytes]) -> None:
        session = requests.Session()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        }
        for body in payloads:
            try:
                reply = session.post(url + UPLOAD_PATH, data=body, headers=headers, timeout=300)
                if reply.status_code != 200 or len(reply.json()["accepted"]) != size:
                    errors.append(reply.status_code)
            except (requests.RequestException, ValueError, KeyError):
                errors.append(-1)  # counted: a failed request must not pass as ingested

    threads = [threading.Thread(target=run, args=item) for item in prepared]
    time.sleep(max(0.0, start_at - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((time.time(), errors))


def bench(db_url: str, kiosks: int, batches: int, size: int, workers: int) -> tuple[float, int]:
    server = CentralProcess(db_url, workers)
    try:
        tokens = [(f"store-{k:03d}", add_device(db_url, f"store-{k:03d}", "till-1")) for k in range(kiosks)]
        configure(db_url, [store for store, _ in tokens])
        queue: Any = multiprocessing.Queue()
        # Every client process builds its bodies first; all start sending at the same instant.
        start_at = time.time() + 3 + kiosks * batches * size / 100_000
        procs = [
            multiprocessing.Process(
                target=client_process, args=(server.url, tokens[p::PROCESSES], batches, size, start_at, queue)
            )
            for p in range(PROCESSES)
        ]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=600) for _ in procs]  # a dead client process must not hang the run
        for proc in procs:
            proc.join()
        finished = max(end for end, _ in results)
        errors = sum(len(errs) for _, errs in results)
        return kiosks * batches * size / (finished - start_at), errors
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=1, help="kiosk-central serve --workers")
    args = parser.parse_args()
    total = args.kiosks * args.batches * args.size
    for kind in args.db:
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "sqlite":
                rate, errors = bench(
                    f"sqlite:///{Path(tmp) / 'central.db'}",
                    args.kiosks,
                    args.batches,
                    args.size,
                    args.workers,
                )
            else:
                import psycopg

                name = f"bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                try:
                    rate, errors = bench(
                        f"postgresql://postgres@127.0.0.1:5432/{name}",
                        args.kiosks,
                        args.batches,
                        args.size,
                        args.workers,
                    )
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(
            f"{kind:>10}, {args.workers} worker(s): {args.kiosks} kiosks x {args.batches} batches x {args.size} answers = {total} "
            f"answers: {rate:,.0f} answers/s ({errors} failed requests)"
        )


if __name__ == "__main__":
    main()
