"""Sync chaos in small: 3 kiosks, 1500 answers, faults on a third of the requests, central killed -9.

The full campaign (5 kiosks, 50k answers) is `bench/sync_chaos.py`; docs/reliability.md has its figures.
Runs `kiosk-central serve` as a subprocess (it must be killable), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.sync.chaos import FAULTS, run_chaos


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_answer_exactly_once_under_faults_and_kills(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'central.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        # The session database may hold the tables of other tests: the campaign counts every row.
        from sync.central.db import CentralDB, drop_schema

        db = CentralDB(url, create=False)
        drop_schema(db.engine)
        db.dispose()
    rates = dict.fromkeys(FAULTS, 0.06) | {"stall": 0.02}
    report = run_chaos(
        tmp_path / "kiosks",
        url,
        kiosks=3,
        total=1500,
        batch_size=20,
        rates=rates,
        kill_every=(0.4, 0.8),
        read_timeout=1.0,
        seed=7,
        time_limit=90,
        pace=0.1,  # 25 batches per kiosk, 2.5 s or more: several kills on any machine
    )
    print("\n".join(report.lines()))
    assert report.kills >= 2 and report.kills_in_flight >= 1, report.lines()
    assert sum(report.proxy.get(name, 0) for name in FAULTS) >= 10, report.proxy
    assert report.missing == 0 and report.extra == 0
    assert report.central_rows == report.central_distinct == report.answers
    assert report.pending_left == 0 and report.quarantined == 0
    assert report.scores_equal == report.kiosks, report.scores_differ
