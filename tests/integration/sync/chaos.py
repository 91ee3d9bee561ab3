"""Sync chaos: kiosks drain through a fault-injecting proxy while the central server is killed with SIGKILL.

Shared by `bench/sync_chaos.py` (the full campaign, 5 kiosks and 50k answers) and the pytest version
(tests/integration/sync/test_chaos.py). Everything listens on 127.0.0.1.

- `ChaosProxy` reads one HTTP request at a time from a kiosk and picks a fault for it: reset before
  forwarding, reset after the server answered (the server committed, the kiosk hears nothing), a delay
  (sometimes longer than the kiosk's read timeout), a truncated answer, or nothing.
- `CentralProcess` runs `kiosk-central serve` as a subprocess so it can be killed (-9) and restarted on the
  same port and database.
- `run_chaos` fills the kiosks, drains them all concurrently until nothing is pending, killing the server at
  random moments (preferably while a request is in flight), then checks that central holds every answer
  exactly once and that central's scores equal each kiosk's `kiosk scores --json`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from kiosk.cli import main as kiosk_main
from sync.central import service
from sync.central.db import CentralDB, answers
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.pairing import load_pairing
from sync.planner import HttpReply, TransportFailure
from sync.uploader import drain
from tests.integration.sync.harness import KioskDir, fill, make_kiosk

BIN = Path(sys.executable).parent
FAULTS = ("reset_before", "reset_after", "delay", "stall", "truncate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CentralProcess:
    """`kiosk-central serve` in a subprocess on a fixed port; kill -9 and restart on the same port and DB."""

    def __init__(self, db_url: str, port: int | None = None, log: Path | None = None) -> None:
        self.db_url = db_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30.0) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [BIN / "kiosk-central", "serve", "--db", self.db_url, "--port", str(self.port)],
            stdout=out,
            stderr=out,
        )
        if self.log:
            out.close()  # type: ignore[union-attr]
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kiosk-central did not start on port {self.port}")
            time.sleep(0.05)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


def _rst(sock: socket.socket) -> None:
    """Close with a TCP reset rather than a clean FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Closed(Exception):
    pass


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes:
    """One HTTP/1.1 message (head and a Content-Length body) from `sock`; the rest stays in `buffer`."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:end]).split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(buffer) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buffer += chunk
    message = bytes(buffer[: end + length])
    del buffer[: end + length]
    return message


@dataclass
class ChaosProxy:
    """Per-request faults between kiosks and central. `rates` maps a fault of FAULTS to its probability."""

    upstream_port: int
    rates: dict[str, float]
    seed: int = 1
    read_timeout: float = 5.0
    counts: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: bool = False

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closing = True
        self._sock.close()

    def _pick(self) -> tuple[str, float]:
        with self._lock:
            roll, mode = self._rng.random(), "pass"
            for name in FAULTS:
                rate = self.rates.get(name, 0.0)
                if roll < rate:
                    mode = name
                    break
                roll -= rate
            return mode, self._rng.random()

    def _count(self, what: str, delta: int = 1) -> None:
        with self._lock:
            self.counts[what] += delta

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        down, up = bytearray(), bytearray()
        try:
            while True:
                request = _read_message(client, up)
                mode, r = self._pick()
                self._count("requests")
                if mode == "reset_before":
                    self._count(mode)
                    _rst(client)
                    return
                if upstream is None:
                    try:
                        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
                    except OSError:
                        self._count("server_down")
                        _rst(client)
                        return
                    upstream.settimeout(120)
                with self._lock:
                    self.in_flight += 1
                try:
                    upstream.sendall(request)
                    response = _read_message(upstream, down)
                finally:
                    with self._lock:
                        self.in_flight -= 1
                if mode == "reset_after":
                    self._count(mode)
                    _rst(client)
                    return
                if mode == "delay":
                    self._count(mode)
                    time.sleep(0.05 + r * 0.5)
                elif mode == "stall":
                    # Longer than the kiosk waits: the server committed, the kiosk times out.
                    self._count(mode)
                    time.sleep(self.read_timeout + 0.5)
                elif mode == "truncate":
                    self._count(mode)
                    client.sendall(response[: max(1, int(len(response) * r))][: len(response) - 1])
                    return
                self._count("passed")
                client.sendall(response)
        except (_Closed, OSError):
            self._count("connection_lost")
        finally:
            client.close()
            if upstream is not None:
                upstream.close()


class CountingClient(CentralClient):
    """The real client, counting the answers the server reported as already stored (resends)."""

    duplicates = 0

    def upload(self, payload: dict[str, Any]) -> HttpReply | TransportFailure:
        reply = super().upload(payload)
        if isinstance(reply, HttpReply) and reply.status == 200:
            with contextlib.suppress(ValueError, TypeError):
                self.duplicates += len(json.loads(reply.body).get("duplicate", []))
        return reply


@dataclass
class ChaosReport:
    kiosks: int
    answers: int
    seconds: float = 0.0
    drains: int = 0
    failed_drains: int = 0
    kills: int = 0
    kills_in_flight: int = 0
    resent_duplicates: int = 0
    proxy: dict[str, int] = field(default_factory=dict)
    central_rows: int = 0
    central_distinct: int = 0
    missing: int = 0
    extra: int = 0
    pending_left: int = 0
    quarantined: int = 0
    scores_equal: int = 0
    scores_differ: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.central_rows == self.answers
            and self.central_distinct == self.answers
            and self.missing == 0
            and self.extra == 0
            and self.pending_left == 0
            and self.quarantined == 0
            and self.scores_equal == self.kiosks
        )

    def lines(self) -> list[str]:
        return [
            f"kiosks {self.kiosks}, answers {self.answers}, wall time {self.seconds:.1f} s",
            f"drains {self.drains} ({self.failed_drains} stopped by a fault), "
            f"central killed -9 {self.kills} times ({self.kills_in_flight} with a request in flight)",
            "proxy: " + ", ".join(f"{k} {v}" for k, v in sorted(self.proxy.items())),
            f"answers resent after a lost reply and answered duplicate: {self.resent_duplicates}",
            f"central rows {self.central_rows}, distinct ids {self.central_distinct}, "
            f"missing {self.missing}, extra {self.extra}",
            f"kiosk pending left {self.pending_left}, quarantined {self.quarantined}",
            f"scores equal to `kiosk scores --json`: {self.scores_equal}/{self.kiosks}"
            + (f" (differ: {', '.join(self.scores_differ)})" if self.scores_differ else ""),
            "RESULT: " + ("every answer exactly once, scores equal" if self.ok else "FAILED"),
        ]


START = dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC)


def setup_kiosks(root: Path, db: CentralDB, url: str, kiosks: int, total: int) -> list[KioskDir]:
    result = []
    for index in range(kiosks):
        store_id = f"chaos-{index + 1:02d}"
        token = service.add_device(db, store_id, "till-1")
        kiosk = make_kiosk(root, store_id, "till-1", url, token)
        service.set_config(db, store_id, (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8"))
        share = total // kiosks + (1 if index < total % kiosks else 0)
        with kiosk.opened() as store:
            fill(store, share, START, seed=index + 1)
            # fill keeps visits whole; trim is not needed for the count check, which reads the kiosk.
        result.append(kiosk)
    return result


def _kiosk_ids(kiosk: KioskDir) -> set[str]:
    with kiosk.opened() as store:
        return {row[0] for row in store.db.execute("SELECT id FROM answers").fetchall()}


def run_chaos(
    root: Path,
    db_url: str,
    *,
    kiosks: int = 5,
    total: int = 50_000,
    batch_size: int = 500,
    rates: dict[str, float] | None = None,
    kill_every: tuple[float, float] = (1.0, 4.0),
    read_timeout: float = 5.0,
    seed: int = 1,
    time_limit: float = 1800.0,
    log: Path | None = None,
    pace: float = 0.0,
) -> ChaosReport:
    """The campaign; `pace` > 0 makes each kiosk send one batch per drain and rest `pace` seconds between
    drains, so a small campaign lasts long enough for several kills whatever the machine's speed."""
    rates = rates if rates is not None else dict.fromkeys(FAULTS, 0.06) | {"stall": 0.01}
    rng = random.Random(seed)
    setup_db = CentralDB(db_url)
    central = CentralProcess(db_url, log=log)
    central.start()
    proxy = ChaosProxy(central.port, rates, seed=seed, read_timeout=read_timeout)
    kiosk_dirs = setup_kiosks(root, setup_db, proxy.url, kiosks, total)
    admin = service.add_admin(setup_db, "chaos")
    with contextlib.ExitStack() as stack:
        stores = [stack.enter_context(k.opened()) for k in kiosk_dirs]
        total = sum(s.answer_count() for s in stores)
    report = ChaosReport(kiosks, total)
    done = threading.Event()
    lock = threading.Lock()

    def kiosk_loop(kiosk: KioskDir) -> None:
        pairing = load_pairing(kiosk.data_dir)
        with kiosk.opened() as store:
            outbox = Outbox(store)
            client = CountingClient(pairing, timeout=(2.0, read_timeout))
            try:
                while outbox.pending_count() and not done.is_set():
                    sent: list[int] = []
                    result = drain(
                        outbox,
                        client,
                        kiosk.store_id,
                        kiosk.device_id,
                        batch_size=batch_size,
                        progress=sent.append,
                        should_stop=(lambda sent=sent: bool(sent)) if pace else None,
                    )
                    failed = not result.ok and result.reason != "stopped"
                    with lock:
                        report.drains += 1
                        report.failed_drains += failed
                    # The scheduled job would wait for the backoff; the campaign retries at once.
                    time.sleep(0.05 if failed else pace)
            finally:
                with lock:
                    report.resent_duplicates += client.duplicates
                client.close()

    def killer() -> None:
        while not done.wait(rng.uniform(*kill_every)):
            # Prefer a moment when a batch is inside the server.
            deadline = time.monotonic() + 2.0
            while proxy.in_flight == 0 and time.monotonic() < deadline and not done.is_set():
                time.sleep(0.005)
            if done.is_set():
                return
            in_flight = proxy.in_flight > 0
            central.kill9()
            report.kills += 1
            report.kills_in_flight += in_flight
            time.sleep(rng.uniform(0.0, 0.5))
            central.start()

    started = time.monotonic()
    threads = [threading.Thread(target=kiosk_loop, args=(k,), daemon=True) for k in kiosk_dirs]
    kill_thread = threading.Thread(target=killer, daemon=True)
    try:
        for thread in threads:
            thread.start()
        kill_thread.start()
        for thread in threads:
            thread.join(max(1.0, time_limit - (time.monotonic() - started)))
        done.set()
        kill_thread.join(60)
        report.seconds = time.monotonic() - started
        report.proxy = dict(proxy.counts)
        if central.proc is None or central.proc.poll() is not None:
            central.start()
        check(report, setup_db, central.url, admin, kiosk_dirs)
    finally:
        done.set()
        proxy.close()
        central.stop()
        setup_db.dispose()
    return report


def check(report: ChaosReport, db: CentralDB, url: str, admin: str, kiosks: list[KioskDir]) -> None:
    """Central holds every kiosk answer exactly once, nothing else; its scores equal each kiosk's."""
    with db.reading() as conn:
        report.central_rows = conn.execute(select(func.count()).select_from(answers)).scalar_one()
        report.central_distinct = conn.execute(select(func.count(answers.c.id.distinct()))).scalar_one()
    runner = CliRunner()
    for kiosk in kiosks:
        local = _kiosk_ids(kiosk)
        with db.reading() as conn:
            remote = {
                r[0] for r in conn.execute(select(answers.c.id).where(answers.c.store_id == kiosk.store_id))
            }
        report.missing += len(local - remote)
        report.extra += len(remote - local)
        with kiosk.opened() as store:
            outbox = Outbox(store)
            report.pending_left += outbox.pending_count()
            report.quarantined += outbox.status().quarantined
            first, last = store.db.execute("SELECT min(local_day), max(local_day) FROM answers").fetchone()
        result = runner.invoke(
            kiosk_main,
            ["scores", "--json", "--from", first, "--to", last, "--data-dir", str(kiosk.data_dir)],
            catch_exceptions=False,
        )
        mine = json.loads(result.output)
        theirs = requests.get(
            f"{url}/api/v1/stores/{kiosk.store_id}/scores",
            params={"from": first, "to": last},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=60,
        ).json()
        if mine == theirs:
            report.scores_equal += 1
        else:
            report.scores_differ.append(kiosk.store_id)
