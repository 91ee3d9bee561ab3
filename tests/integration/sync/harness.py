"""Test harness for sync: the real server in a background thread, a fault-injecting TCP proxy, kiosks.

Everything listens on 127.0.0.1 only. Shared by the integration tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.config import default_config_text, load_config
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer, ResponseStore
from sync.central.app import create_app
from sync.central.db import CentralDB
from sync.central.settings import Settings
from sync.pairing import Pairing, save_pairing


class LiveServer:
    """uvicorn serving the central app on 127.0.0.1, stoppable and restartable on the same port."""

    def __init__(self, db: CentralDB, settings: Settings | None = None, port: int = 0) -> None:
        self.db = db
        self.settings = settings or Settings(db_url=db.url)
        self.app = create_app(self.settings, db)
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        if self.port == 0:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None


CANNED = {
    "http500": b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    b"Connection: close\r\n\r\noops!",
    "http429": b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n",
    "portal": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 38\r\nConnection: close\r\n\r\n"
    b"<html><body>Welcome to Wi-Fi</body></html>"[:38],
}


@dataclass
class FaultProxy:
    """A TCP proxy in front of the server whose next connections can misbehave.

    Modes: pass; reset_after_response (forward the request, let the server commit and answer, then reset
    the kiosk's connection before it hears anything); blackhole (accept, never answer); http500, http429,
    portal (a canned answer without reaching the server). `faults` connections misbehave, then it passes.
    """

    upstream_port: int
    mode: str = "pass"
    faults: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    _sock: socket.socket = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: bool = False

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, mode: str, times: int = 1) -> None:
        with self._lock:
            self.mode, self.faults = mode, times

    def _take(self) -> str:
        with self._lock:
            if self.faults > 0:
                self.faults -= 1
                return self.mode
            return "pass"

    def close(self) -> None:
        self._closing = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client, self._take()), daemon=True).start()

    def _handle(self, client: socket.socket, mode: str) -> None:
        with client:
            if mode in CANNED:
                _read_request(client)
                client.sendall(CANNED[mode])
                return
            if mode == "blackhole":
                with contextlib.suppress(OSError):
                    while client.recv(65536):
                        pass
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                return
            with upstream:
                threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
                while True:
                    try:
                        data = upstream.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    if mode == "reset_after_response":
                        # The server has committed (it answers only after its transaction); the kiosk must
                        # not hear it: an RST instead of the answer.
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    self.bytes_down += len(data)
                    try:
                        client.sendall(data)
                    except OSError:
                        return

    def _pump(self, source: socket.socket, target: socket.socket, up: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            if up:
                self.bytes_up += len(data)
            try:
                target.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _read_request(client: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            return
        body += chunk


@dataclass
class KioskDir:
    data_dir: Path
    store_id: str
    device_id: str

    def store(self) -> ResponseStore:
        return ResponseStore(self.data_dir / "kiosk.db", load_config(self.data_dir / "kiosk.toml"))

    @contextlib.contextmanager
    def opened(self) -> Iterator[ResponseStore]:
        store = self.store()
        try:
            yield store
        finally:
            store.close()


def make_kiosk(root: Path, store_id: str, device_id: str, url: str, token: str) -> KioskDir:
    data_dir = root / f"{store_id}-{device_id}"
    data_dir.mkdir(parents=True)
    (data_dir / "kiosk.toml").write_text(
        default_config_text(store_id, device_id, "Europe/Paris", store_id.title()), encoding="utf-8"
    )
    save_pairing(data_dir, Pairing(url, token))
    return KioskDir(data_dir, store_id, device_id)


def fill(store: ResponseStore, count: int, start: dt.datetime, seed: int = 1, spacing_s: float = 7.0) -> None:
    """`count` answers of realistic visits (satisfaction, reason when unhappy, sometimes recommend)."""
    rng = random.Random(seed)
    answers: list[NewAnswer] = []
    at = start
    while len(answers) < count:
        session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        face = rng.choice([1, 2, 3, 4, 5, 5, 4, 4])
        visit: list[tuple[str, Any]] = [("satisfaction", face)]
        if face <= 2:
            visit.append(("reason", rng.choice(["waiting", "staff", "price"])))
        if rng.random() < 0.3:
            visit.append(("recommend", rng.randint(0, 10)))
        for offset, (question, value) in enumerate(visit):
            answers.append(
                NewAnswer(
                    question_id=question,
                    value=value,
                    created_at=at + dt.timedelta(seconds=offset),
                    session_id=session,
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                )
            )
        at += dt.timedelta(seconds=rng.uniform(0.5, spacing_s * 2))
    AnswerRecorder(store).import_answers(
        answers[:count] if len(answers) == count else _whole_visits(answers, count)
    )


def _whole_visits(answers: list[NewAnswer], count: int) -> list[NewAnswer]:
    # Cut at a visit boundary at or after `count`: a visit is never split across fills.
    cut = count
    while cut < len(answers) and answers[cut].session_id == answers[cut - 1].session_id:
        cut += 1
    return answers[:cut]
