"""API fuzzing, by hand: malformed bodies against `kiosk-central serve` (a subprocess, so its memory can be
measured) and, for the database-specific cases, against both SQLite and PostgreSQL.

For every body: a 4xx (never a 5xx, never a hang), the answers table unchanged (nothing partially written),
and the server's memory bounded (RSS before/after, and its peak, read from /proc).
"""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from kiosk.config import default_config_text
from sync.central import service
from sync.central.db import CentralDB, answers
from sync.protocol import HEARTBEAT_PATH, UPLOAD_PATH
from tests.integration.sync.chaos import CentralProcess
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import LiveServer

STORE, DEVICE = "fuzz-01", "till-1"
MiB = 1024 * 1024


def answer(**changes: Any) -> dict[str, Any]:
    item = {
        "id": str(uuid.uuid4()),
        "session": str(uuid.uuid4()),
        "question": "satisfaction",
        "value": "4",
        "created_at": "2026-11-24T09:59:58.123Z",
        "local_day": "2026-11-24",
        "language": "fr",
        "survey_version": "3860485c2e8a",
        "suspect": False,
    }
    return item | changes


def upload(items: list[Any], **changes: Any) -> dict[str, Any]:
    return {
        "protocol": 1,
        "store": STORE,
        "device": DEVICE,
        "sent_at": "2026-11-24T10:00:00.000Z",
        "answers": items,
    } | changes


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def gzip_bomb(inflated: int) -> bytes:
    """`inflated` bytes of zeros as gzip (about 1/1000 of the size), built without holding them."""
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MiB
    parts = [out.compress(block) for _ in range(inflated // MiB)]
    return b"".join([*parts, out.flush()])


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# (name, body bytes, extra headers, the status expected)
CASES: list[tuple[str, bytes, dict[str, str], set[int]]] = [
    ("empty body", b"", {}, {400}),
    ("invalid JSON", b'{"protocol": 1, "answers": [', {}, {400}),
    ("not an object", js([1, 2, 3]), {}, {400}),
    ("protocol as text", js(upload([answer()], protocol="1")), {}, {400}),
    ("answers not a list", js(upload({"a": 1})), {}, {400}),  # type: ignore[arg-type]
    ("store of another type", js(upload([answer()], store=7)), {}, {403}),
    ("too many answers", js(upload([answer() for _ in range(1001)])), {}, {413}),
    ("a huge array of numbers", js(upload(list(range(1_500_000)))), {}, {413}),
    ("deep nesting, 100 levels", deep(100), {}, {400}),
    ("deep nesting, 1M levels", deep(1_000_000), {}, {400}),
    ("deep nesting in an answer", js(upload([answer(value=[[[[[[[[["x"]]]]]]]]])])), {}, {400}),
    ("invalid UTF-8", b'{"protocol": 1, "store": "\xff\xfe\xfa"}', {}, {400}),
    ("a number of 5000 digits", b'{"protocol": ' + b"9" * 5000 + b"}", {}, {400}),
    ("NaN and Infinity", b'{"protocol": NaN, "answers": [Infinity]}', {}, {400}),
    ("gzip bomb, 1 GiB of zeros", gzip_bomb(1024 * MiB), {"Content-Encoding": "gzip"}, {413}),
    ("truncated gzip", gzip.compress(js(upload([answer()])))[:-12], {"Content-Encoding": "gzip"}, {400}),
    ("not gzip at all", b"plain text", {"Content-Encoding": "gzip"}, {400}),
    ("unknown encoding", js(upload([answer()])), {"Content-Encoding": "br"}, {415}),
    ("oversized body, 5 MiB", b" " * (5 * MiB), {}, {413}),
    ("17 MiB inflated", gzip.compress(b" " * (17 * MiB)), {"Content-Encoding": "gzip"}, {413}),
]


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CentralProcess, CentralDB, str]]:
    path = tmp_path_factory.mktemp("malformed") / "central.db"
    db = CentralDB(f"sqlite:///{path}")
    token = service.add_device(db, STORE, DEVICE)
    service.set_config(db, STORE, default_config_text(STORE, DEVICE, "Europe/Paris", "Fuzz"))
    process = CentralProcess(db.url)
    process.start()
    yield process, db, token
    process.stop()
    db.dispose()


def count(db: CentralDB) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())


def post(url: str, token: str, body: bytes | Iterator[bytes], headers: dict[str, str]) -> requests.Response:
    return requests.post(
        url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
        timeout=30,
    )


def test_malformed_bodies_are_4xx_nothing_written_memory_bounded(
    central: tuple[CentralProcess, CentralDB, str],
) -> None:
    process, db, token = central
    ok = post(process.url + UPLOAD_PATH, token, js(upload([answer() for _ in range(200)])), {})
    assert ok.status_code == 200, ok.text
    rows = count(db)
    rss_before = process.rss_kib()
    seen: dict[str, int] = {}
    for _round in range(3):
        for name, body, headers, expected in CASES:
            for path in (UPLOAD_PATH, HEARTBEAT_PATH):
                response = post(process.url + path, token, body, headers)
                seen[f"{name} -> {path}"] = response.status_code
                if path == UPLOAD_PATH:
                    assert response.status_code in expected, (name, response.status_code, response.text)
                else:
                    assert 400 <= response.status_code < 500 or response.status_code == 200, (name, response)
                assert count(db) == rows, name
    # Without Content-Length (chunked): the limit is enforced while reading.
    chunks = (b" " * MiB for _ in range(6))
    response = post(process.url + UPLOAD_PATH, token, chunks, {})
    assert response.status_code == 413
    rss_after = process.rss_kib()
    status = Path(f"/proc/{process.proc.pid}/status").read_text()  # type: ignore[union-attr]
    peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
    print(f"RSS before {rss_before} KiB, after {rss_after} KiB, peak {peak} KiB; {len(seen)} cases x 3")
    assert rss_after - rss_before < 96 * 1024, (rss_before, rss_after)
    assert peak < 400 * 1024, peak
    assert count(db) == rows


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"value": "a\x00b"}, id="NUL in a text"),
        pytest.param({"value": "\ud800"}, id="lone surrogate"),
        pytest.param({"session": "\udfff" * 3}, id="lone surrogates in session"),
        pytest.param({"id": "\ud800"}, id="lone surrogate as the id"),
        pytest.param({"created_at": "\ud800\x00"}, id="surrogate and NUL in created_at"),
        pytest.param(
            {"created_at": "0001-01-01T00:30:00+01:00", "local_day": "0001-01-01"},
            id="year 1, no UTC instant",
        ),
        pytest.param(
            {"created_at": "9999-12-31T23:30:00-01:00", "local_day": "9999-12-31"},
            id="year 9999, no UTC instant",
        ),
        pytest.param({"survey_version": "é" * 64}, id="64 non-ASCII characters"),
    ],
)
def test_answers_the_server_cannot_store_are_rejected_not_500(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB, bad: dict[str, str]
) -> None:
    """One such answer made the whole batch a 500 (retried forever by its kiosk); now it is rejected alone.

    PostgreSQL refuses NUL in text, neither database stores a lone surrogate (not UTF-8), and a time at the
    edge of the calendar has no UTC instant. Rejected the same way on both databases."""
    token = service.add_device(central_db, STORE, DEVICE)
    service.set_config(central_db, STORE, default_config_text(STORE, DEVICE, "Europe/Paris", "Fuzz"))
    good, broken = answer(), answer(**bad)
    before = count(central_db)
    body = json.dumps(upload([good, broken])).encode()  # ensure_ascii: surrogates travel as \\ud800
    response = post(server.url + UPLOAD_PATH, token, body, {})
    assert response.status_code == 200, response.text
    reply = response.json()
    if bad.get("survey_version"):
        assert sorted(reply["accepted"]) == sorted([good["id"], broken["id"]])
        assert count(central_db) == before + 2
        return
    assert reply["accepted"] == [good["id"]]
    assert len(reply["rejected"]) == 1
    assert reply["rejected"][0]["id"] in (broken["id"], "\\ud800")
    assert count(central_db) == before + 1


def test_heartbeat_numbers_beyond_the_columns_are_ignored(server: LiveServer, central_db: CentralDB) -> None:
    """Found by schemathesis: free_disk_bytes 2**63 overflowed the driver (500 on SQLite and PostgreSQL)."""
    token = service.add_device(central_db, STORE, DEVICE)
    body = {
        "pending": 2**31,
        "quarantined": 10**30,
        "free_disk_bytes": 2**63,
        "app_version": "x" * 1000,
        "last_error": "\ud800\x00",
        "device_clock": "0001-01-01T00:00:00+01:00",
    }
    response = post(server.url + HEARTBEAT_PATH, token, js(body), {})
    assert response.status_code == 200, response.text
    stores = service.list_stores(central_db)
    device = stores[0]["devices"][0]
    assert device["pending"] is None and device["free_disk_bytes"] is None
    assert len(device["app_version"]) == 32
    assert device["last_error"] == "\\ud800\\x00"


def test_export_cursor_beyond_bigint_is_422_not_500(server: LiveServer, central_db: CentralDB) -> None:
    """Found by schemathesis: ?after=2**63 overflowed the driver (500)."""
    admin = service.add_admin(central_db, "reader")
    url = f"{server.url}/api/v1/stores/{STORE}/answers"
    headers = {"Authorization": f"Bearer {admin}"}
    assert requests.get(url, params={"after": 2**63}, headers=headers, timeout=10).status_code == 422
    # Not the seq of one of the store's answers: refused as a cursor head office never handed out (409).
    last = requests.get(url, params={"after": 2**63 - 1}, headers=headers, timeout=10)
    assert last.status_code == 409 and last.headers["X-Restart-After"] == "0"
