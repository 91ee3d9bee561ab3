"""Crash campaign: kill -9 a kiosk at random moments while shoppers tap, then check nothing acknowledged is lost.

Each run starts a child process that opens the kiosk exactly as `kiosk run` does (`open_kiosk`, then
`build_deps`) and drives taps through the app's own visit logic (`SurveyFlow` over `UiDeps.record`, the call
the touchscreen makes before it shows the next screen). After each tap's `record` returns, the child prints
`ack <answer id>` when the store says the answer is durable (and `held <id>` when it was only kept in memory,
see kiosk.holding), flushing stdout at once. The parent kills the child with SIGKILL at a random moment:
mostly while it taps, sometimes while it is still starting (opening or migrating the database). Then it opens
the database like the next start would, runs `PRAGMA integrity_check`, and checks that every acknowledged id
is stored. The same database is reused from one run to the next, so kills also land during WAL checkpoints
and on a database that grows to tens of thousands of answers.

What this proves and what it does not: SIGKILL ends the process, not the machine; what the process wrote
is in the kernel's page cache and survives. A power cut is a different test (the fsync before each
acknowledgement is what protects against it; bench/bench_record.py measures that fsync).

With --outages, SQLite also refuses writes (query_only, as a read-only file) for stretches of 100 taps, so
taps are held in memory (kiosk.holding) and written on later taps, and kills land in every phase of that.
Held taps are never acknowledged; a held tap killed before it was written is not stored, as promised.
Answers stored twice (a held answer written twice) are counted and must be 0.

Run: .venv/bin/python tools/crash_campaign.py [--runs 200] [--seed 1] [--outages] [--json]
Exit code 0 when nothing acknowledged was lost and every integrity check said ok, else 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# -- the child: a kiosk tapping as fast as the disk lets it --------------------------------------------------


def child(data_dir: Path, seed: int, outages: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from kiosk.bootstrap import build_deps, open_kiosk
    from kiosk.storage import Answer, NewAnswer
    from kiosk.ui.presenters import SurveyFlow

    # As `kiosk run` opens it. Were a kill ever to damage the file, it would be set aside here, and the
    # parent's check would then miss every acknowledged answer: damage cannot hide.
    kiosk = open_kiosk(data_dir, recover=True)
    deps = build_deps(kiosk)
    out = sys.stdout

    def record(new: NewAnswer) -> object:
        result = deps.record(new)
        # Printed only after record returned: the line is the "thank you" the shopper would see.
        if isinstance(result, Answer):
            out.write(f"ack {result.id}\n")
        else:
            out.write(f"held {new.question_id}\n")
        out.flush()
        return result

    flow = SurveyFlow(deps.config.survey, record, deps.config.display)
    rng = random.Random(seed)
    now = 0.0
    out.write("ready\n")
    out.flush()
    taps = 0
    while True:
        if outages and taps % 100 == 0:
            # Storage outages: SQLite refuses writes for a while (as on a read-only file), taps are held
            # in memory, then written on the following taps; the kill lands in any of these phases.
            refusing = rng.random() < 0.3
            kiosk.store.db.conn.execute(f"PRAGMA query_only = {'ON' if refusing else 'OFF'}")
        question = flow.question
        if question is None:
            now += deps.config.display.thank_you_seconds
            flow.tick(now)
            continue
        if question.scale is not None:
            value: object = rng.randint(*question.scale)
        else:
            value = rng.choice(question.options).id
        now += rng.uniform(0.5, 3.0)
        flow.answer(value, deps.wall(), now)
        taps += 1


# -- the parent: start, kill, check ---------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    runs: int = 0
    killed_while_starting: int = 0
    killed_while_tapping: int = 0
    acknowledged: int = 0
    held_not_durable: int = 0
    stored: int = 0
    lost: int = 0
    corrupt: int = 0
    stored_not_acknowledged: int = 0
    stored_twice: int = 0
    problems: list[str] = field(default_factory=list)


def write_config(data_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from kiosk.config import default_config_text

    data_dir.mkdir(parents=True, exist_ok=True)
    text = default_config_text("crash", "till-1", "Europe/Paris", "Crash campaign")
    (data_dir / "kiosk.toml").write_text(text, encoding="utf-8")


class ChildOutput:
    """The child's stdout as whole lines. An unfinished line is kept for the next read, so an ack split
    across two reads is still counted; only the tail left when the child is dead and drained is dropped
    (an ack cut in half by the kill was never fully shown)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.stream = proc.stdout
        self.buffer = b""

    def _take(self, chunk: bytes) -> list[str]:
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        return [raw.decode(errors="replace") for raw in complete]

    def read(self, until: float, stop_at_ready: bool) -> tuple[list[str], bool]:
        """Lines printed until the monotonic deadline (or the `ready` line); whether it said ready."""
        fd = self.stream.fileno()
        lines: list[str] = []
        while (left := until - time.monotonic()) > 0:
            readable, _, _ = select.select([fd], [], [], left)
            chunk = os.read(fd, 65536) if readable else b""
            if not chunk:
                break
            lines += self._take(chunk)
            if stop_at_ready and "ready" in lines:
                break
        return lines, "ready" in lines

    def drain(self) -> list[str]:
        """Everything left once the child is dead."""
        return self._take(self.stream.read())


def check_database(path: Path, acked: list[str]) -> tuple[str, int, int, int]:
    """(integrity_check result, stored answers, acknowledged ids missing, answers stored twice), as the
    next start finds it. Stored twice: a visit answering one question twice (a held answer written twice)."""
    db = sqlite3.connect(str(path))
    try:
        check = "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
        stored = db.execute("SELECT count(*) FROM answers").fetchone()[0]
        twice = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM answers GROUP BY session_id, question_id HAVING count(*) > 1)"
        ).fetchone()[0]

        missing = 0
        for start in range(0, len(acked), 500):
            chunk = acked[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found = db.execute(f"SELECT count(*) FROM answers WHERE id IN ({marks})", chunk).fetchone()[0]
            missing += len(chunk) - found
        return check, int(stored), missing, int(twice)
    finally:
        db.close()


def campaign(
    data_dir: Path, runs: int, seed: int, max_tap_seconds: float, verbose: bool, outages: bool = False
) -> tuple[Figures, list[str]]:
    rng = random.Random(seed)
    figures = Figures()
    write_config(data_dir)
    database = data_dir / "kiosk.db"
    every_ack: list[str] = []
    for run in range(runs):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                str(data_dir),
                "--seed",
                str(seed + run),
                *(["--outages"] if outages else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        started = time.monotonic()
        output = ChildOutput(proc)
        if rng.random() < 0.1:
            # Killed while it starts: opening the file, recovering the WAL, applying migrations.
            lines, ready = output.read(started + rng.uniform(0.0, 0.6), stop_at_ready=False)
        else:
            lines, ready = output.read(started + 30, stop_at_ready=True)
            more, _ = output.read(time.monotonic() + rng.uniform(0.0, max_tap_seconds), stop_at_ready=False)
            lines += more
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        lines += output.drain()
        if proc.stdout is not None:
            proc.stdout.close()
        if ready:
            figures.killed_while_tapping += 1
        else:
            figures.killed_while_starting += 1
        acked = [line.split(" ", 1)[1] for line in lines if line.startswith("ack ")]
        figures.held_not_durable += sum(1 for line in lines if line.startswith("held "))
        every_ack += acked
        figures.runs += 1
        if not database.exists():
            if acked:
                figures.problems.append(f"run {run}: {len(acked)} acknowledged but no database file")
            continue
        check, stored, missing, twice = check_database(database, acked)
        if twice:
            figures.problems.append(f"run {run}: {twice} answers stored twice")
        if check != "ok":
            figures.corrupt += 1
            figures.problems.append(f"run {run}: integrity_check: {check}")
        if missing:
            figures.problems.append(f"run {run}: {missing} acknowledged answers missing")
        if verbose:
            print(
                f"run {run + 1:>4}/{runs}: {'tapping' if ready else 'starting'}, {len(acked):>5} acknowledged, "
                f"{stored:>7} stored, integrity {check}, missing {missing}",
                flush=True,
            )
    figures.acknowledged = len(every_ack)
    if database.exists():
        check, figures.stored, figures.lost, figures.stored_twice = check_database(database, every_ack)
        if check != "ok":
            figures.problems.append(f"final: integrity_check: {check}")
    figures.stored_not_acknowledged = figures.stored - figures.acknowledged + figures.lost
    return figures, every_ack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="kills, one per run (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments and taps (default 1)")
    parser.add_argument(
        "--max-tap-seconds",
        type=float,
        default=0.5,
        help="a run taps for a random time up to this long before the kill (default 0.5)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="kiosk directory to use (default: a fresh temporary one)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument(
        "--outages",
        action="store_true",
        help="storage outages too: in 3 stretches of 100 taps in 10 SQLite refuses writes (query_only), "
        "taps are held in memory and written later",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.seed, args.outages)
        return 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash-campaign-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "kiosk"
        figures, _ = campaign(
            data_dir, args.runs, args.seed, args.max_tap_seconds, verbose=not args.json, outages=args.outages
        )
    elapsed = time.monotonic() - started
    ok = figures.lost == 0 and figures.corrupt == 0 and figures.stored_twice == 0 and not figures.problems
    if args.json:
        print(json.dumps({**asdict(figures), "seconds": round(elapsed, 1), "ok": ok}, indent=2))
    else:
        print(
            f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {figures.runs} kills in {elapsed:.0f} s "
            f"({figures.killed_while_tapping} while tapping, {figures.killed_while_starting} while starting)\n"
            f"acknowledged {figures.acknowledged}, stored {figures.stored}, lost {figures.lost}, "
            f"corrupt {figures.corrupt}, stored twice {figures.stored_twice}\n"
            f"stored but not acknowledged {figures.stored_not_acknowledged} (killed between the commit and the "
            f"thank-you, or held in memory and written later); taps held in memory (not acknowledged) "
            f"{figures.held_not_durable}"
        )
        for problem in figures.problems:
            print(f"PROBLEM: {problem}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
