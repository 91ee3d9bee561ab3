"""Benchmark helper: run `kiosk-central serve` in a subprocess on 127.0.0.1 and register devices."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
# Several server processes on PostgreSQL share one session key (the dashboard's); a benchmark's own.
os.environ.setdefault("KIOSK_CENTRAL_SECRET_KEY", "bench-only-key-" + "x" * 40)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_device(db_url: str, store: str, device: str) -> str:
    out = subprocess.run(
        [BIN / "kiosk-central", "add-device", "--store", store, "--device", device, "--db", db_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


class CentralProcess:
    def __init__(self, db_url: str, workers: int = 1) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                BIN / "kiosk-central",
                "serve",
                "--db",
                db_url,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(self.url + "/api/v1/health", timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("kiosk-central did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
