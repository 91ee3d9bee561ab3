"""What the typed contract costs the kiosk: central's upload reply for a full batch (500 ids) decoded as the
protocol's UploadReply by msgspec (every field's type checked) and then checked against what was sent,
beside the bare `json.loads` of the same bytes in the same run; and msgspec's import, paid once by the sync
job (never on the tap path or before the first frame: `python -X importtime -m kiosk run` shows no msgspec).

    .venv/bin/python bench/bench_contracts.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid

from sync.planner import HttpReply, decide_upload

ROUNDS = 400


def main() -> None:
    sent = [str(uuid.uuid4()) for _ in range(500)]
    body = json.dumps(
        {
            "protocol": 2,
            "received_at": "2026-12-01T12:00:00.000000Z",
            "max_batch": 1000,
            "accepted": sent[:480],
            "duplicate": sent[480:490],
            "conflict": [],
            "rejected": [{"id": i, "reason": "value 9 is not a face 1-5"} for i in sent[490:]],
            "flagged": [],
            "device_answers": 12345,
            "flags_applied": [],
        }
    ).encode()
    reply = HttpReply(200, {}, body)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    decide_upload(sent, 500, reply, now)  # warm: msgspec imported
    typed, bare = [], []
    for _ in range(ROUNDS):  # interleaved, so both see the same machine
        start = time.perf_counter()
        json.loads(body)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        decide_upload(sent, 500, reply, now)
        typed.append(time.perf_counter() - start)
    import_cost = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import msgspec.json"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        # Each line: "import time: SELF_US | CUMULATIVE_US | name"; the last is msgspec.json with all it
        # pulled in (the standard library modules it needs included).
        import_cost.append(int(out.strip().splitlines()[-1].split("|")[1]))
    t, b = statistics.median(typed), statistics.median(bare)
    print(f"upload reply, 500 ids: typed decode + checks {t * 1e3:.3f} ms, bare json.loads {b * 1e3:.3f} ms")
    print(f"ratio {t / b:.2f}x (per batch of 500 answers; the network round trip is tens of ms)")
    print(f"msgspec import (once, in the sync job): {statistics.median(import_cost) / 1000:.1f} ms")


if __name__ == "__main__":
    main()
