"""Benchmark: drain a 100k-answer backlog to the reference server over loopback.

Prints answers/s and HTTP bytes per answer on the wire (request and response, headers included, TCP/IP
overhead not), beside a naive uploader (one uncompressed POST per answer, one local mark per answer) measured
in the same run on a sample and extrapolated. Never asserts anything.

    .venv/bin/python bench/sync_drain.py [--answers 100000] [--naive-sample 2000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._central import CentralProcess, add_device
from kiosk.config import default_config_text, load_config
from kiosk.domain.days import format_utc
from kiosk.storage import ResponseStore
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import Pairing
from sync.protocol import UPLOAD_PATH, answer_to_wire, upload_body
from sync.uploader import drain
from tests.integration.sync.harness import fill

PG = "postgresql://postgres@127.0.0.1:5432/test"


class WireCounter:
    """Counts HTTP bytes of every exchange of a requests.Session (body as sent, headers included)."""

    def __init__(self, session: requests.Session) -> None:
        self.up = self.down = self.requests = 0
        session.hooks["response"].append(self.count)

    def count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        body = request.body or b""
        self.up += len(body) + len(f"{request.method} {request.path_url} HTTP/1.1\r\n\r\n")
        self.up += sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        self.down += int(response.headers.get("content-length", 0)) + len("HTTP/1.1 200 OK\r\n\r\n")
        self.down += sum(len(k) + len(v) + 4 for k, v in response.headers.items())
        self.requests += 1


def make_kiosk(root: Path, store_id: str, count: int) -> tuple[Path, ResponseStore]:
    data_dir = root / store_id
    data_dir.mkdir()
    (data_dir / "kiosk.toml").write_text(default_config_text(store_id, "till-1", "Europe/Paris", store_id))
    store = ResponseStore(data_dir / "kiosk.db", load_config(data_dir / "kiosk.toml"))
    start = dt.datetime(2026, 9, 1, 7, 0, tzinfo=dt.UTC)
    # Imported in chunks of whole days' worth so the repeated-press look-ups stay realistic.
    step = 20_000
    for offset in range(0, count, step):
        fill(store, min(step, count - offset), start + dt.timedelta(days=offset // 2000), seed=offset)
    return data_dir, store


def naive_upload(
    store: ResponseStore, url: str, token: str, store_id: str, sample: int
) -> tuple[float, WireCounter, int]:
    """One JSON POST per answer (no gzip, no batching) and one local commit per mark."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    counter = WireCounter(session)
    rows = Outbox(store).pending_batch(sample)
    started = time.perf_counter()
    for row in rows:
        body = upload_body(store_id, "till-1", format_utc(dt.datetime.now(dt.UTC)), [answer_to_wire(row)])
        reply = session.post(
            url + UPLOAD_PATH, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=30
        )
        reply.raise_for_status()
        store.db.execute(
            "UPDATE answers SET synced_at = ? WHERE id = ?", [format_utc(dt.datetime.now(dt.UTC)), row["id"]]
        )
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed, counter, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db_url = f"sqlite:///{root / 'central.db'}"
        if args.db == "postgresql":
            import psycopg

            name = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            db_url = PG.rsplit("/", 1)[0] + "/" + name
        t0 = time.perf_counter()
        _, batch_store = make_kiosk(root, "bench-batch", args.answers)
        _, naive_store = make_kiosk(root, "bench-naive", args.naive_sample)
        print(
            f"prepared {batch_store.answer_count()} + {naive_store.answer_count()} answers in {time.perf_counter() - t0:.1f} s"
        )
        server = CentralProcess(db_url)
        try:
            batch_token = add_device(db_url, "bench-batch", "till-1")
            naive_token = add_device(db_url, "bench-naive", "till-1")

            session = requests.Session()
            counter = WireCounter(session)
            client = CentralClient(Pairing(server.url, batch_token), session=session)
            outbox = Outbox(batch_store)
            total = outbox.pending_count()
            started = time.perf_counter()
            result = drain(outbox, client, "bench-batch", "till-1", batch_size=args.batch)
            elapsed = time.perf_counter() - started
            assert result.ok, result.reason
            rate = result.synced / elapsed

            naive_time, naive_counter, naive_n = naive_upload(
                naive_store, server.url, naive_token, "bench-naive", args.naive_sample
            )
            naive_rate = naive_n / naive_time
        finally:
            server.stop()
        print(
            f"central database: {args.db}; batch size {args.batch}; 2 cores, loopback, server in its own process"
        )
        print(
            f"batched uploader: {result.synced} answers in {elapsed:.2f} s = {rate:,.0f} answers/s; "
            f"{counter.requests} requests; {(counter.up + counter.down) / total:.1f} B/answer on the wire "
            f"({counter.up / total:.1f} up, {counter.down / total:.1f} down)"
        )
        print(
            f"naive uploader (one POST per answer, measured on {naive_n} answers, extrapolated to {total}): "
            f"{naive_rate:,.0f} answers/s -> {total / naive_rate:.0f} s for the backlog; "
            f"{(naive_counter.up + naive_counter.down) / naive_n:.0f} B/answer"
        )
        print(f"ratio: batched is {rate / naive_rate:.0f}x the naive rate")
        batch_store.close()
        naive_store.close()
        if args.db == "postgresql":
            import psycopg

            with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
