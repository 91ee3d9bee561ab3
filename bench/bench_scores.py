"""Scores at scale: today's and a whole year's scores from the materialised daily counts, beside a naive GROUP BY.

Builds (once, then cached under bench/out/ by size) a kiosk database of N answers (default 1,000,000) over
about a year of store-local days in Europe/Paris: busier Saturdays and Decembers, lunch and evening peaks,
visits of a satisfaction face, a reason after a bad face, a 0-10 recommendation, and now and then a child's
run of repeated presses flagged suspect. The rows go through the store's own schema (its migrations), in big
transactions, so the `daily_counts` trigger fills the materialised table exactly as on a kiosk.

Then, timed in the same run (median of several runs; the first run is printed apart):

- today: `Kiosk.scores(today, today)`, i.e. `count_rows` + `daily_scores`, for the last day of the data;
- year: `Kiosk.scores(first day, last day)`;
- naive: `SELECT date(created_at), question_id, value, suspect, count(*) FROM answers GROUP BY 1,2,3,4`
  over the whole table, alone and feeding the same `daily_scores` (note: date() is the UTC day);
- raw local: the same GROUP BY on the stored `local_day` column, for context.

It prints the figures, the ratios against the goals (today <= 5 ms, year >= 10x faster than naive) and a
correctness cross-check: the year's scores from the materialised table must equal the scores computed from
the raw answers grouped by local_day (OK/MISMATCH). It never fails on timing.
Run: .venv/bin/python bench/bench_scores.py [--answers 1000000] [--rebuild]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import shutil
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import OUT, TIMEZONE, create_kiosk

from kiosk.bootstrap import Kiosk, open_kiosk
from kiosk.domain.days import format_utc
from kiosk.domain.scoring import CountRow, daily_scores

BUILD_VERSION = 1  # bump when the generator changes, so cached databases are rebuilt
CHUNK = 50_000  # answers per build transaction
REASONS = ("waiting", "staff", "price", "cleanliness", "availability")
WEEKDAY_WEIGHT = (0.8, 0.85, 0.95, 0.95, 1.1, 1.4, 0.5)  # Monday .. Sunday
MONTH_WEIGHT = {7: 0.85, 8: 0.75, 11: 1.1, 12: 1.35}
OPEN, CLOSE = 8 * 60, 21 * 60  # store hours, minutes after local midnight

Row = tuple[Any, ...]


# -- building the database ----------------------------------------------------------------------------------


def day_budgets(answers: int, days: list[dt.date], rng: random.Random) -> list[int]:
    """Answers per day, summing exactly to `answers`: weekday and month shape, some daily noise."""
    weights = [
        WEEKDAY_WEIGHT[d.weekday()] * MONTH_WEIGHT.get(d.month, 1.0) * rng.uniform(0.85, 1.15) for d in days
    ]
    total = sum(weights)
    budgets = [math.floor(answers * w / total) for w in weights]
    for i in range(answers - sum(budgets)):
        budgets[i % len(budgets)] += 1
    return budgets


def visit_minutes(count: int, rng: random.Random) -> list[float]:
    """Start times (minutes after local midnight) of `count` visits: all day, peaks at lunch and evening."""
    minutes = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.2:
            m = rng.gauss(12.5 * 60, 40)
        elif pick < 0.45:
            m = rng.gauss(18 * 60, 60)
        else:
            m = rng.uniform(OPEN, CLOSE)
        minutes.append(min(max(m, OPEN), CLOSE - 1))
    return sorted(minutes)


def day_rows(
    day: dt.date, budget: int, tz: ZoneInfo, version: str, synced: bool, rng: random.Random
) -> list[Row]:
    """Exactly `budget` answers of one store-local day."""
    mood = rng.gauss(0, 0.35)  # some days go better than others

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    # First what is answered: visits as (seconds after the visit starts, session, question, value, suspect).
    visits: list[list[tuple[float, str, str, str, int]]] = []
    total = 0
    while total < budget:
        session, face = new_id(), min(5, max(1, round(rng.gauss(4.0 + mood, 1.0))))
        visit = [(0.0, session, "satisfaction", str(face), 0)]
        at = 0.0
        if face <= 2 and rng.random() < 0.7:
            at += rng.uniform(1.5, 5)
            visit.append((at, session, "reason", rng.choice(REASONS), 0))
        if rng.random() < 0.85:
            at += rng.uniform(1.5, 5)
            nps = min(10, max(0, round(rng.gauss(2 * face - 1 if face <= 2 else face + 4.5, 1.5))))
            visit.append((at, session, "recommend", str(nps), 0))
        if rng.random() < 0.01:  # a child pressing the same face again and again: flagged suspect
            for _ in range(rng.randint(2, 8)):
                at += rng.uniform(1, 4)
                visit.append((at, new_id(), "satisfaction", str(face), 1))
        visit = visit[: budget - total]
        visits.append(visit)
        total += len(visit)

    # Then when: start times over the store hours, and the rows.
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    iso_day = day.isoformat()
    rows: list[Row] = []
    for minute, visit in zip(visit_minutes(len(visits), rng), visits, strict=True):
        # local wall time -> instant (store hours never fall in the DST gap or fold)
        local = midnight.replace(hour=int(minute // 60), minute=int(minute % 60), second=rng.randrange(60))
        start = local.astimezone(dt.UTC)
        language = "fr" if rng.random() < 0.8 else "en"
        for offset, session, question, value, suspect in visit:
            created = start + dt.timedelta(seconds=offset)
            synced_at = format_utc(created + dt.timedelta(minutes=5)) if synced else None
            rows.append(
                (
                    new_id(),
                    session,
                    question,
                    value,
                    format_utc(created),
                    iso_day,
                    language,
                    version,
                    suspect,
                    synced_at,
                )
            )
    return rows


def build(directory: Path, answers: int, days: int, seed: int) -> None:
    """Create the kiosk in a scratch directory and move it into place once complete."""
    scratch = directory.with_name(directory.name + ".building")
    shutil.rmtree(scratch, ignore_errors=True)
    rng = random.Random(seed)
    kiosk = create_kiosk(scratch)
    tz = kiosk.config.store.tz
    version = kiosk.config.survey.version
    end = kiosk.today(dt.datetime.now(dt.UTC))
    all_days = [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    budgets = day_budgets(answers, all_days, rng)
    conn = kiosk.store.db.conn
    # Build speed only: the data is thrown away if the build is interrupted.
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    insert = (
        "INSERT INTO answers (id, session_id, question_id, value, created_at, local_day, language, "
        "survey_version, suspect, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    t0 = time.perf_counter()
    pending: list[Row] = []
    done = 0
    for day, budget in zip(all_days, budgets, strict=True):
        pending.extend(day_rows(day, budget, tz, version, day != end, rng))
        if len(pending) >= CHUNK or day == end:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, pending)
            conn.execute("COMMIT")
            done += len(pending)
            pending = []
            print(f"  building: {done:,}/{answers:,} answers, {time.perf_counter() - t0:.0f} s", end="\r")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kiosk.close()
    print(f"  built {answers:,} answers over {days} days in {time.perf_counter() - t0:.1f} s" + " " * 20)
    shutil.rmtree(directory, ignore_errors=True)
    scratch.rename(directory)


def cached_kiosk(answers: int, days: int, seed: int, rebuild: bool) -> Kiosk:
    directory = OUT / f"scores-{answers}-d{days}-s{seed}-v{BUILD_VERSION}"
    if rebuild or not (directory / "kiosk.db").exists():
        print(f"building {directory} (cached for the next runs; --rebuild to redo it)")
        build(directory, answers, days, seed)
    else:
        print(f"using cached {directory}")
    kiosk = open_kiosk(directory)
    if kiosk.store.answer_count() != answers:
        kiosk.close()
        raise SystemExit(f"bench_scores: {directory} does not hold {answers} answers; run with --rebuild")
    return kiosk


# -- measuring ----------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(first run ms, median ms of the other runs, last result); with one run both are that run."""
    times, result = [], None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    rest = times[1:] or times
    return times[0], statistics.median(rest), result


def raw_rows(kiosk: Kiosk, day_expression: str) -> list[CountRow]:
    """Count rows computed from the answers table itself, the day taken from `day_expression`."""
    return [
        CountRow(day=dt.date.fromisoformat(day), question=q, value=v, suspect=bool(s), count=n)
        for day, q, v, s, n in kiosk.store.db.execute(
            f"SELECT {day_expression}, question_id, value, suspect, count(*) FROM answers GROUP BY 1, 2, 3, 4"
        ).fetchall()
    ]


def differing_days(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [x["day"] for x, y in zip(a["days"], b["days"], strict=True) if x != y]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers in the database (default 1M)")
    parser.add_argument("--days", type=int, default=365, help="store-local days they span (default 365)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the year and naive queries")
    parser.add_argument("--today-runs", type=int, default=101, help="timed runs of today's scores")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated data (default 2026)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    args = parser.parse_args(argv)
    if args.answers < args.days or args.days < 1 or args.runs < 1 or args.today_runs < 1:
        parser.error("need --days >= 1, --answers >= --days, --runs >= 1 and --today-runs >= 1")

    OUT.mkdir(parents=True, exist_ok=True)
    kiosk = cached_kiosk(args.answers, args.days, args.seed, args.rebuild)
    try:
        db = kiosk.store.db
        first, last = db.execute("SELECT min(local_day), max(local_day) FROM daily_counts").fetchone()
        start, today = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        store, survey = kiosk.config.store, kiosk.config.survey
        n_counts = db.execute("SELECT count(*) FROM daily_counts").fetchone()[0]
        print(
            f"bench_scores: {args.answers:,} answers, {n_counts:,} daily_counts rows, "
            f"{start} .. {today} ({TIMEZONE}), 'today' = {today}"
        )

        today_first, today_ms, _ = timed(lambda: kiosk.scores(today, today), args.today_runs)
        _, today_rows_ms, _ = timed(lambda: kiosk.store.count_rows(today, today), args.today_runs)
        year_first, year_ms, year_scores = timed(lambda: kiosk.scores(start, today), args.runs)
        _, year_rows_ms, year_rows = timed(lambda: kiosk.store.count_rows(start, today), args.runs)
        naive_first, naive_query_ms, naive = timed(lambda: raw_rows(kiosk, "date(created_at)"), args.runs)
        _, naive_scoring_ms, _ = timed(lambda: daily_scores(store, survey, naive, start, today), args.runs)
        local_first, local_query_ms, local = timed(lambda: raw_rows(kiosk, "local_day"), args.runs)
        naive_ms = naive_query_ms + naive_scoring_ms

        runs = f"median of {args.runs - 1 if args.runs > 1 else 1}"
        print(f"{'measure':<62} {'ms':>9} {'first ms':>9}")
        lines = [
            (
                f"(a) today: Kiosk.scores(today, today) [median of {max(1, args.today_runs - 1)}]",
                today_ms,
                today_first,
            ),
            ("    of which count_rows(today, today)", today_rows_ms, None),
            (f"(b) year: Kiosk.scores(start, today) [{runs}]", year_ms, year_first),
            ("    of which count_rows(start, today)", year_rows_ms, None),
            (f"(c) naive: GROUP BY date(created_at) over answers [{runs}]", naive_query_ms, naive_first),
            ("    naive rows -> daily_scores", naive_scoring_ms, None),
            ("    naive total (query + daily_scores)", naive_ms, None),
            (f"    raw GROUP BY local_day over answers [{runs}]", local_query_ms, local_first),
        ]
        for label, ms, first_ms in lines:
            print(f"{label:<62} {ms:>9.2f} {'' if first_ms is None else f'{first_ms:.2f}':>9}")

        print(f"today: {today_ms:.2f} ms (goal <= 5 ms)")
        print(
            f"year speed-up vs naive: {naive_ms / year_ms:.1f}x (query + daily_scores, goal >= 10x); "
            f"query only: count_rows {naive_query_ms / year_rows_ms:.1f}x faster than the naive GROUP BY"
        )

        raw_scores = daily_scores(store, survey, local, start, today)
        same_rows = Counter(year_rows) == Counter(local)
        diff = differing_days(year_scores, raw_scores)
        verdict = "OK" if same_rows and not diff else "MISMATCH"
        detail = (
            "" if verdict == "OK" else f" ({len(diff)} days differ, e.g. {diff[:3]}; rows equal: {same_rows})"
        )
        print(
            f"cross-check, year scores from daily_counts == scores from raw answers GROUP BY local_day: "
            f"{verdict}{detail}"
        )
        naive_scores = daily_scores(store, survey, naive, start, today)
        print(
            "note: naive UTC-day scores equal the local-day ones: "
            f"{'yes' if naive_scores == raw_scores else 'no'} (differ on {len(differing_days(naive_scores, raw_scores))} days)"
        )
    finally:
        kiosk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
