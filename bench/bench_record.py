"""Tap-to-durable latency of `AnswerRecorder.record`, beside a raw 4 KiB write+fsync on the same disk.

A kiosk is created in a fresh directory under bench/out/ (git-ignored, same filesystem as the repository) and
N answers are recorded through the store, as the screen does on each tap: a satisfaction face, a reason when
the face is 1 or 2, then the 0-10 recommendation, visits a minute apart in simulated time (so the
repeated-press rule flags none of them). Each call commits, and so fsyncs, before it returns.

The same run measures, interleaved one call each with the taps (the order rotating from one iteration to the
next so every series shares the machine's noise):

- fsync: os.write of 4 KiB + os.fsync on a file in the same directory, overwriting a preallocated 1 MiB
  file in a cycle (like a WAL that is reused after a checkpoint): the floor of any durable write here, and
  the baseline of the ratios;
- fsync append: the same, appending to a growing file (each fsync also commits the new size);
- bare WAL: one INSERT + COMMIT through plain sqlite3 in WAL with synchronous=FULL, no indexes or trigger;
- naive: one INSERT + COMMIT through plain sqlite3 with the default journal (DELETE) and synchronous=FULL;
- cpu: `record` on a second kiosk whose connection runs with synchronous=OFF, the work a tap does besides
  waiting for the disk.

It prints p50/p99/mean/max in microseconds and the ratios, tap/bare WAL among them (issue #9's goal: p50 <=
1.3). It never fails on timing. Run: .venv/bin/python bench/bench_record.py [--n 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from common import OUT, create_kiosk

from kiosk.bootstrap import Kiosk
from kiosk.storage import NewAnswer

BLOCK = b"\xa5" * 4096
CYCLE_BLOCKS = 256  # the raw-fsync file: 1 MiB overwritten in a cycle

Timer = Callable[[], float]


# As on the kiosk screen (kiosk.ui.presenters), a visit's id is made by the screen before its first answer
# (outside the timed call), and the later answers carry the same id.
NEW_VISIT = "new-visit"
SAME_VISIT = "same-visit"


def taps(seed: int, start: dt.datetime) -> Iterator[NewAnswer]:
    """An endless, realistic stream of taps: visits a minute apart, 2 or 3 answers each, seconds apart.

    As on the kiosk screen, a visit's first answer carries a visit id the screen made, unknown to the store,
    and the later ones carry the same id.
    """
    rng = random.Random(seed)
    visit_start = start
    while True:
        face = rng.choices((1, 2, 3, 4, 5), weights=(4, 6, 15, 40, 35))[0]
        at = visit_start
        yield NewAnswer("satisfaction", face, at, session_id=NEW_VISIT, language=rng.choice(("fr", "en")))
        if face <= 2 and rng.random() < 0.7:
            at += dt.timedelta(seconds=rng.uniform(1.5, 4))
            reason = rng.choice(("waiting", "staff", "price", "cleanliness", "availability"))
            yield NewAnswer("reason", reason, at, session_id=SAME_VISIT)
        at += dt.timedelta(seconds=rng.uniform(1.5, 4))
        nps = max(0, min(10, round(rng.gauss(2 * face - 1 if face <= 2 else face + 4.5, 1.5))))
        yield NewAnswer("recommend", nps, at, session_id=SAME_VISIT)
        visit_start += dt.timedelta(minutes=1)


def tap_timer(kiosk: Kiosk, stream: Iterator[NewAnswer]) -> Timer:
    record = kiosk.recorder.record
    visit = ""

    def run() -> float:
        nonlocal visit
        answer = next(stream)
        if answer.session_id == NEW_VISIT:
            answer = dataclasses.replace(answer, session_id=str(uuid.uuid4()))
        elif answer.session_id == SAME_VISIT:
            answer = dataclasses.replace(answer, session_id=visit)
        t0 = time.perf_counter_ns()
        stored = record(answer)
        elapsed = time.perf_counter_ns() - t0
        visit = stored.session_id
        if stored.suspect:  # the workload is meant to be ordinary visits
            raise SystemExit("bench_record: an answer was flagged suspect; fix the workload")
        return elapsed / 1000

    return run


def fsync_timer(path: Path, *, append: bool) -> tuple[Timer, Callable[[], None]]:
    """4 KiB os.write + os.fsync per call: appended to a growing file, or overwriting a preallocated cycle."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    if not append:
        for _ in range(CYCLE_BLOCKS):  # preallocate, so the timed writes never grow the file
            os.write(fd, BLOCK)
        os.fsync(fd)
    counter = 0

    def run() -> float:
        nonlocal counter
        if not append and counter % CYCLE_BLOCKS == 0:
            os.lseek(fd, 0, os.SEEK_SET)
        counter += 1
        t0 = time.perf_counter_ns()
        os.write(fd, BLOCK)
        os.fsync(fd)
        return (time.perf_counter_ns() - t0) / 1000

    return run, lambda: os.close(fd)


def sqlite_timer(path: Path, journal_mode: str) -> tuple[Timer, Callable[[], None]]:
    """One INSERT + COMMIT per call through plain sqlite3, synchronous=FULL, in the given journal mode."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE answers (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, question_id TEXT NOT NULL, "
        "value TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    counter = 0

    def run() -> float:
        nonlocal counter
        counter += 1
        row = (
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            "satisfaction",
            "4",
            f"{base + dt.timedelta(minutes=counter)}",
        )
        t0 = time.perf_counter_ns()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?)", row)
        conn.execute("COMMIT")
        return (time.perf_counter_ns() - t0) / 1000

    return run, conn.close


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "p50": pct(50),
        "p99": pct(99),
        "mean": statistics.fmean(ordered),
        "max": ordered[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="timed calls per series (default 2000)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls per series first (default 50)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated taps (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory under bench/out/")
    args = parser.parse_args(argv)
    if args.n < 1 or args.warmup < 0:
        parser.error("--n must be at least 1 and --warmup at least 0")

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="record-", dir=OUT))
    start = dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.UTC)
    kiosk = create_kiosk(work / "kiosk")
    cpu_kiosk = create_kiosk(work / "kiosk-cpu")
    cpu_kiosk.store.db.execute("PRAGMA synchronous = OFF")
    fsync_run, fsync_close = fsync_timer(work / "raw-overwrite.bin", append=False)
    append_run, append_close = fsync_timer(work / "raw-append.bin", append=True)
    wal_run, wal_close = sqlite_timer(work / "bare-wal.db", "WAL")
    naive_run, naive_close = sqlite_timer(work / "naive-delete.db", "DELETE")
    series: dict[str, Timer] = {
        "tap": tap_timer(kiosk, taps(args.seed, start)),
        "fsync": fsync_run,
        "fsync_append": append_run,
        "bare_wal": wal_run,
        "naive": naive_run,
        "cpu": tap_timer(cpu_kiosk, taps(args.seed, start)),
    }
    samples: dict[str, list[float]] = {name: [] for name in series}
    names = list(series)
    try:
        for i in range(args.warmup + args.n):
            shift = i % len(names)  # rotate the order so no series always follows the same one
            for name in names[shift:] + names[:shift]:
                elapsed = series[name]()
                if i >= args.warmup:
                    samples[name].append(elapsed)
    finally:
        fsync_close()
        append_close()
        wal_close()
        naive_close()
        kiosk.close()
        cpu_kiosk.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    stats = {name: summary(values) for name, values in samples.items()}
    labels = {
        "tap": "record() tap-to-durable (WAL+FULL)",
        "fsync": "raw 4 KiB write+fsync, overwrite in place",
        "fsync_append": "raw 4 KiB write+fsync, append (file grows)",
        "bare_wal": "bare sqlite3 WAL+FULL INSERT+COMMIT",
        "naive": "naive sqlite3 DELETE+FULL INSERT+COMMIT",
        "cpu": "record() with synchronous=OFF (no fsync)",
    }
    print(f"bench_record: n={args.n} per series (after {args.warmup} warm-up), interleaved, dir {OUT}")
    print(f"{'series':<42} {'p50 us':>9} {'p99 us':>9} {'mean us':>9} {'max us':>9}")
    for name, s in stats.items():
        print(f"{labels[name]:<42} {s['p50']:>9.0f} {s['p99']:>9.0f} {s['mean']:>9.0f} {s['max']:>9.0f}")
    tap, fsync = stats["tap"], stats["fsync"]
    print(f"ratio tap_p50 / fsync_p50 = {tap['p50'] / fsync['p50']:.2f}")
    print(f"ratio tap_p99 / fsync_p99 = {tap['p99'] / fsync['p99']:.2f}")
    append = stats["fsync_append"]
    print(f"ratio tap_p50 / fsync_append_p50 = {tap['p50'] / append['p50']:.2f} (the growing-file floor)")
    print(
        f"ratio tap_p50 / bare_wal_p50 = {tap['p50'] / stats['bare_wal']['p50']:.2f} (issue #9's goal <= 1.3)"
    )
    print(f"ratio naive_p50 / tap_p50 = {stats['naive']['p50'] / tap['p50']:.2f}")
    slow = {name: sum(x > 3 * stats[name]["p50"] for x in samples[name]) for name in ("tap", "fsync")}
    print(f"calls slower than 3x their p50: tap {slow['tap']}, fsync {slow['fsync']} (of {args.n} each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
