"""The index parts central keeps per store-day and month (`rollup_index_daily`, `rollup_index_monthly`) are
exactly what a recount from the raw answers gives, after ingest and after visit flags made answers suspect
later, on SQLite and PostgreSQL; the revision's backfill (`rebuild_index`) gives the same rows."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from kiosk.config import default_config_text
from kiosk.domain.days import format_utc
from kiosk.domain.survey import SCALES, Kind
from sync.central import rollups, service
from sync.central.db import CentralDB, answers, rollup_index_daily, rollup_index_monthly
from sync.central.service import DeviceIdentity

QUESTIONS = """
[[questions]]
id = "satisfaction"
kind = "smiley5"
text = { fr = "Votre visite ?", en = "Your visit?" }

[[questions]]
id = "recommend"
kind = "nps"
text = { fr = "Recommanderiez-vous ?", en = "Would you recommend us?" }

[[questions]]
id = "effort"
kind = "ces7"
text = { fr = "C'était facile ?", en = "Was it easy?" }

[[questions]]
id = "mood"
kind = "smiley4"
text = { fr = "Humeur ?", en = "Mood?" }

[[questions]]
id = "reason"
kind = "choice"
text = { fr = "Pourquoi ?", en = "Why?" }
options = [
  { id = "waiting", text = { fr = "Attente", en = "Waiting" } },
  { id = "price", text = { fr = "Prix", en = "Price" } },
]
"""
VALUES: dict[str, list[str]] = {
    "satisfaction": [str(v) for v in range(1, 6)],
    "recommend": [str(v) for v in range(11)],
    "effort": [str(v) for v in range(1, 8)],
    "mood": [str(v) for v in range(1, 5)],
    "reason": ["waiting", "price"],
}


def survey_config(store_id: str) -> str:
    text = default_config_text(store_id, "till-1", "Europe/Paris", "Paris")
    return text[: text.index("[[questions]]")] + QUESTIONS


def recount(db: CentralDB) -> dict[str, list[tuple[Any, ...]]]:
    """The parts from the raw answers, by the metrics' definitions (DESIGN.md), not by the rollups' code."""
    days: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * 7)
    with db.reading() as conn:
        rows = conn.execute(
            select(
                answers.c.store_id, answers.c.local_day, answers.c.question_id, answers.c.kind
            ).add_columns(answers.c.value, answers.c.suspect)
        ).all()
    for store, day, question, kind, value, suspect in rows:
        parts = days[(store, day, question, kind)]
        if suspect:
            parts[1] += 1
            continue
        parts[0] += 1
        if kind == "choice":
            continue
        v = int(value)
        low, high = SCALES[Kind(kind)]
        if kind == "nps":
            parts[2] += v >= 9
            parts[3] += v <= 6
        elif kind in ("smiley5", "smiley4"):
            parts[4] += v >= high - 1
            parts[5] += v - low
        else:
            parts[6] += v >= 5
    months: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * 7)
    for (store, day, question, kind), parts in days.items():
        month = months[(store, day[:7], question, kind)]
        for i, part in enumerate(parts):
            month[i] += part
    return {
        "daily": sorted((*key, *parts) for key, parts in days.items()),
        "monthly": sorted((*key, *parts) for key, parts in months.items()),
    }


def stored(db: CentralDB) -> dict[str, list[tuple[Any, ...]]]:
    with db.reading() as conn:
        return {
            name: sorted(tuple(r) for r in conn.execute(select(table)))
            for name, table in (("daily", rollup_index_daily), ("monthly", rollup_index_monthly))
        }


def test_index_parts_equal_a_recount_from_the_answers_after_ingest_and_visit_flags(
    central_db: CentralDB,
) -> None:
    rng = random.Random(7)
    store_id = "paris-01"
    service.add_device(central_db, store_id, "till-1")
    service.set_config(central_db, store_id, survey_config(store_id))
    who = DeviceIdentity(store_id, "till-1")
    # Visits from 29 November to 2 December (Paris time), across a month's end, some already suspect.
    start = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    sessions: list[str] = []
    batch: list[dict[str, Any]] = []
    for i in range(160):
        at = start + dt.timedelta(minutes=37 * i)
        session = str(uuid.uuid4())
        sessions.append(session)
        suspect = rng.random() < 0.1
        for question, values in VALUES.items():
            if question != "satisfaction" and rng.random() < 0.3:
                continue  # questions skipped, as show_if and walk-aways do
            batch.append(
                {
                    "id": str(uuid.uuid4()),
                    "session": session,
                    "question": question,
                    "value": rng.choice(values),
                    "created_at": format_utc(at),
                    "local_day": at.date().isoformat(),
                    "language": "fr",
                    "survey_version": "v-test",
                    "suspect": suspect,
                }
            )
    for chunk in range(0, len(batch), 90):
        result = service.ingest(central_db, who, batch[chunk : chunk + 90], dt.datetime.now(dt.UTC))
        assert not result.rejected, result.rejected
    before_flags = stored(central_db)
    assert before_flags == recount(central_db)
    # Visit flags arrive later: their answers become suspect and their parts move, a flag sent twice once.
    flagged = rng.sample(sessions, 40)
    service.ingest(central_db, who, [], dt.datetime.now(dt.UTC), None, flagged[:25])
    service.ingest(central_db, who, [], dt.datetime.now(dt.UTC), None, flagged[10:])
    after_flags = stored(central_db)
    assert after_flags == recount(central_db)
    suspect_n = 5  # the column after store, day, question, kind and n
    assert sum(r[suspect_n] for r in after_flags["daily"]) > sum(r[suspect_n] for r in before_flags["daily"])
    # The revision's backfill (from rollup_daily) and the full repair give the same rows.
    with central_db.writing() as conn:
        rollups.rebuild_index(conn)
    assert stored(central_db) == after_flags
    with central_db.writing() as conn:
        rollups.rebuild(conn)
    assert stored(central_db) == after_flags


def test_revision_0008_backfills_the_index_parts_of_a_live_database(db_url: str) -> None:
    """A database at revision 0006 with counted answers: the upgrade fills both index rollups from them."""
    from sqlalchemy import text

    from sync.central.db import drop_schema, migrate

    db = CentralDB(db_url, create=False)
    drop_schema(db.engine)
    migrate(db.engine, "0006")
    with db.engine.begin() as conn:
        for question, kind, value, suspect, n in (
            ("satisfaction", "smiley5", "5", False, 3),
            ("satisfaction", "smiley5", "2", False, 1),
            ("satisfaction", "smiley5", "1", True, 4),
            ("recommend", "nps", "10", False, 2),
            ("recommend", "nps", "3", False, 1),
            ("effort", "ces7", "6", False, 1),
        ):
            for day in ("2026-11-30", "2026-12-01"):
                conn.execute(
                    text(
                        "INSERT INTO rollup_daily (store_id, local_day, question_id, kind, value, suspect, n)"
                        " VALUES ('paris-01', :day, :question, :kind, :value, :suspect, :n)"
                    ),
                    {
                        "day": day,
                        "question": question,
                        "kind": kind,
                        "value": value,
                        "suspect": suspect,
                        "n": n,
                    },
                )
    migrate(db.engine)
    rows = stored(db)
    assert rows["daily"][:3] == [
        ("paris-01", "2026-11-30", "effort", "ces7", 1, 0, 0, 0, 0, 0, 1),
        ("paris-01", "2026-11-30", "recommend", "nps", 3, 0, 2, 1, 0, 0, 0),
        ("paris-01", "2026-11-30", "satisfaction", "smiley5", 4, 4, 0, 0, 3, 13, 0),
    ]
    assert [r[1] for r in rows["monthly"]] == [
        "2026-11",
        "2026-11",
        "2026-11",
        "2026-12",
        "2026-12",
        "2026-12",
    ]
    db.dispose()
