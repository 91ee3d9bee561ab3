"""Benchmark: alerts on central with 50 kiosks uploading.

1. Latency: each of 50 kiosks (stores) uploads one batch of 4 very unhappy answers at a random moment over
   a few seconds; a `negative_share` rule (50 %, 15 min, 4 answers) mails each store's manager through a
   real SMTP server (aiosmtpd, in this process). Figure: time from sending the batch to the mail in the sink,
   p50 / p95 (goal p95 <= 5 s).
2. Ingest throughput with 20 rules on beside the same run with no rule (goal >= 0.9x): 50 kiosks upload
   batches of answers of the last minutes (so windows are live), through `kiosk-central serve` in its own
   process.

Prints figures; never asserts anything.

    .venv/bin/python bench/alerts.py [--db sqlite postgresql] [--kiosks 50] [--batches 4] [--size 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller

from bench._central import BIN, free_port
from kiosk.config import check_config_text, default_config_text
from kiosk.domain.days import format_utc
from sync.protocol import UPLOAD_PATH, upload_body

PG_ADMIN = "host=127.0.0.1 user=postgres dbname=test"
# The survey version central knows from set-config (a version it does not know, like the "v1" sent before,
# had every answer rejected: the figures measured refusals).
VERSION = check_config_text(
    default_config_text("store-000", "till-1", "Europe/Paris", "x"), "b"
).survey.version
ONE_RULE = """
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
share = 0.5
window_minutes = 15
min_answers = 4
stores = ["*"]
notify = ["mailto:manager@example.com"]
"""


def twenty_rules() -> str:
    parts = []
    for n in range(6):
        parts.append(
            f'[[rule]]\nname = "unhappy {n}"\nkind = "negative_share"\nquestion = "satisfaction"\n'
            f'share = {0.5 + n * 0.05:.2f}\nwindow_minutes = {10 + 5 * n}\nmin_answers = {4 + n}\nstores = ["*"]\n'
        )
    for n in range(4):
        parts.append(
            f'[[rule]]\nname = "happy {n}"\nkind = "positive_share"\nquestion = "satisfaction"\n'
            f'share = {0.7 + n * 0.05:.2f}\nwindow_minutes = {15 + 15 * n}\nmin_answers = 10\nstores = ["*"]\n'
        )
    for n in range(3):
        parts.append(
            f'[[rule]]\nname = "detractors {n}"\nkind = "negative_share"\nquestion = "recommend"\n'
            f'share = {0.4 + n * 0.1:.1f}\nwindow_minutes = 30\nmin_answers = 5\nstores = ["*"]\n'
        )
    for n in range(3):
        parts.append(
            f'[[rule]]\nname = "volume {n}"\nkind = "volume"\nwindow_minutes = {5 + 10 * n}\n'
            f'more_than = {200 + 100 * n}\nstores = ["*"]\n'
        )
    for n, index in enumerate(("nps", "csat", "happy_index")):
        parts.append(
            f'[[rule]]\nname = "index {n}"\nkind = "index_below"\nindex = "{index}"\nbelow = -100\nstores = ["*"]\n'
        )
    parts.append(
        '[[rule]]\nname = "silent"\nkind = "device"\ncheck = "silent"\nminutes = 60\nstores = ["*"]\n'
    )
    return "\n".join(parts)


class Sink:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                store = str(message["Subject"]).strip().split("]")[0].lstrip("[")
                with outer.lock:
                    outer.arrivals.setdefault(store, time.time())
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()


class Server:
    def __init__(self, db_url: str, smtp_port: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The bench's own settings, but the session key (PostgreSQL refuses to serve without one).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KIOSK_CENTRAL_") or k == "KIOSK_CENTRAL_SECRET_KEY"
        }
        if smtp_port:
            env["KIOSK_CENTRAL_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
        self.proc = subprocess.Popen(
            [BIN / "kiosk-central", "serve", "--db", db_url, "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + "/api/v1/health", timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("kiosk-central did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def prepare(db_url: str, kiosks: int, rules: str, tmp: Path) -> list[tuple[str, str]]:
    # In this process, through the functions the CLI commands call: 100 short-lived CLI processes took
    # minutes on a loaded machine, for nothing measured.
    from sync.central import service
    from sync.central.alert_rules import set_alerts
    from sync.central.db import CentralDB

    db = CentralDB(db_url)
    try:
        tokens = []
        for k in range(kiosks):
            store = f"store-{k:03d}"
            tokens.append((store, service.add_device(db, store, "till-1")))
            service.set_config(db, store, default_config_text(store, "till-1", "Europe/Paris", store))
        alerts = tmp / "alerts.toml"
        alerts.write_text(rules, encoding="utf-8")
        set_alerts(db, alerts, dt.datetime.now(dt.UTC))
    finally:
        db.dispose()
    return tokens


def body(store: str, values: list[tuple[str, int]], start: dt.datetime, spacing_s: float) -> bytes:
    answers = []
    for i, (question, value) in enumerate(values):
        at = start + dt.timedelta(seconds=i * spacing_s)
        answers.append(
            {
                "id": str(uuid.uuid4()),
                "session": str(uuid.uuid4()),
                "question": question,
                "value": str(value),
                "created_at": format_utc(at),
                "local_day": at.astimezone(dt.timezone(dt.timedelta(hours=1))).date().isoformat(),
                "language": "fr",
                "survey_version": VERSION,
                "suspect": False,
            }
        )
    raw = json.dumps(upload_body(store, "till-1", format_utc(start), answers), separators=(",", ":"))
    return gzip.compress(raw.encode(), compresslevel=5)


HEADERS = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


def latency(db_url: str, kiosks: int, tmp: Path) -> list[float]:
    sink = Sink()
    tokens = prepare(db_url, kiosks, ONE_RULE, tmp)
    server = Server(db_url, sink.port)
    sent: dict[str, float] = {}
    rng = random.Random(7)
    try:
        now = dt.datetime.now(dt.UTC)
        payloads = [
            (store, token, body(store, [("satisfaction", 1)] * 4, now - dt.timedelta(minutes=4), 60))
            for store, token in tokens
        ]

        def send(store: str, token: str, data: bytes, delay: float) -> None:
            time.sleep(delay)
            sent[store] = time.time()
            reply = requests.post(
                server.url + UPLOAD_PATH,
                data=data,
                headers={**HEADERS, "Authorization": f"Bearer {token}"},
                timeout=60,
            )
            reply.raise_for_status()

        threads = [threading.Thread(target=send, args=(s, t, d, rng.uniform(0, 5))) for s, t, d in payloads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 60
        while len(sink.arrivals) < kiosks and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        sink.controller.stop()
    return [sink.arrivals[s] - sent[s] for s in sent if s in sink.arrivals] + [float("inf")] * (
        kiosks - len(sink.arrivals)
    )


def throughput(
    db_url: str, kiosks: int, batches: int, size: int, rules: str, tmp: Path
) -> tuple[float, int, int, float]:
    tokens = prepare(db_url, kiosks, rules, tmp)
    server = Server(db_url)
    rng = random.Random(3)
    try:
        now = dt.datetime.now(dt.UTC)
        prepared = []
        for store, token in tokens:
            payloads = []
            for b in range(batches):
                # Mostly happy shoppers (a quarter on the red faces), as in the sync harness.
                values = [
                    ("satisfaction", rng.choice([1, 2, 3, 4, 5, 5, 4, 4]))
                    if i % 3
                    else ("recommend", rng.randint(5, 10))
                    for i in range(size)
                ]
                payloads.append(
                    body(store, values, now - dt.timedelta(minutes=28) + dt.timedelta(minutes=7 * b), 4)
                )
            prepared.append((token, payloads))
        errors: list[int] = []

        def run(token: str, payloads: list[bytes]) -> None:
            session = requests.Session()
            for data in payloads:
                reply = session.post(
                    server.url + UPLOAD_PATH,
                    data=data,
                    headers={**HEADERS, "Authorization": f"Bearer {token}"},
                    timeout=300,
                )
                if reply.status_code != 200 or len(reply.json()["accepted"]) != size:
                    errors.append(reply.status_code)

        threads = [threading.Thread(target=run, args=item) for item in prepared]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        # The server's worker evaluates the queued uploads after their replies: wait for it (the time it
        # takes after the last reply is printed), so that the alerts counted are all of them.
        drained = drain_time(db_url, started + elapsed)
    finally:
        server.stop()
    from sqlalchemy import func, select

    from sync.central.db import CentralDB, alerts

    db = CentralDB(db_url, create=False)
    with db.reading() as conn:
        opened = int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())
    db.dispose()
    return kiosks * batches * size / elapsed, len(errors), opened, drained


def drain_time(db_url: str, last_reply: float) -> float:
    """Seconds from the last upload's reply until the alert evaluation queue is empty (0: no queue)."""
    from sqlalchemy import func, inspect, select

    from sync.central.db import CentralDB

    db = CentralDB(db_url, create=False)
    try:
        if "alert_queue" not in inspect(db.engine).get_table_names():
            return 0.0
        from sync.central.db import alert_queue

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with db.reading() as conn:
                if not conn.execute(select(func.count()).select_from(alert_queue)).scalar_one():
                    break
            time.sleep(0.05)
        return time.perf_counter() - last_reply
    finally:
        db.dispose()


def database(kind: str, tmp: Path, label: str) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'{label}.db'}", None
    import psycopg

    name = f"bench_alerts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}", name


def drop(name: str | None) -> None:
    if name:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--rounds", type=int, default=1, help="throughput rounds, the order of rules off/on alternating"
    )
    parser.add_argument("--no-latency", action="store_true", help="only the throughput part")
    args = parser.parse_args()
    for kind in args.db:
        with tempfile.TemporaryDirectory() as raw:
            tmp = Path(raw)
            if not args.no_latency:
                url, name = database(kind, tmp, "latency")
                try:
                    delays = sorted(latency(url, args.kiosks, tmp))
                finally:
                    drop(name)
                p50 = statistics.median(delays)
                p95 = delays[min(len(delays) - 1, round(0.95 * len(delays)) - 1)]
                print(
                    f"{kind:>10}: batch -> mail in the sink, {args.kiosks} kiosks: p50 {p50:.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s"
                )
            ratios = []
            for round_ in range(args.rounds):
                rates = {}
                order = [("no rule", "# none\n"), ("20 rules", twenty_rules())]
                for label, rules in order if round_ % 2 == 0 else order[::-1]:
                    url, name = database(kind, tmp, f"{label.replace(' ', '-')}-{round_}")
                    try:
                        rates[label] = throughput(url, args.kiosks, args.batches, args.size, rules, tmp)
                    finally:
                        drop(name)
                base, base_errors, _, _ = rates["no rule"]
                ruled, ruled_errors, opened, drained = rates["20 rules"]
                ratios.append(ruled / base)
                print(
                    f"{kind:>10}: ingest, {args.kiosks} kiosks x {args.batches} batches x {args.size} answers: "
                    f"no rule {base:,.0f} answers/s ({base_errors} failed), 20 rules {ruled:,.0f} answers/s "
                    f"({ruled_errors} failed, {opened} alerts opened, evaluated {drained:.2f} s after the last "
                    f"reply): {ruled / base:.2f}x",
                    flush=True,
                )
            if len(ratios) > 1:
                print(f"{kind:>10}: median ratio of {len(ratios)} rounds {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
