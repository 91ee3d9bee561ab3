"""Rollups kept by ingest, the store directory file, and the aggregate JSON API: figures from counts,
ranking, targets, scope. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sync.central.cli import main as central_main
from sync.central.db import CentralDB, answers, rollup_daily, rollup_hourly
from sync.central.directory import load_directory, set_stores
from sync.central.rollups import rebuild
from sync.central.service import CentralError
from tests.integration.web.conftest import AppFactory, ingest, sign_in, visit_items

PERIOD = {"from": "2026-11-10", "to": "2026-11-16"}


def seed(db: CentralDB) -> None:
    paris = [
        *visit_items("paris-01", "2026-11-10T09:30:00+00:00", 5, 10),
        *visit_items("paris-01", "2026-11-10T09:31:00+00:00", 4, 9),
        *visit_items("paris-01", "2026-11-10T09:40:00+00:00", 1, 3, "waiting"),
        *visit_items("paris-01", "2026-11-10T09:40:05+00:00", 5, 10, suspect=True),
        *visit_items("paris-01", "2026-11-12T15:00:00+00:00", 2, 6, "price"),
        # the previous period
        *visit_items("paris-01", "2026-11-05T10:00:00+00:00", 5, 10),
        *visit_items("paris-01", "2026-11-05T10:05:00+00:00", 5, 9),
    ]
    ingest(db, "paris-01", paris)
    ingest(db, "paris-01", paris[:6])  # sent again: duplicates, never counted twice
    lille = []
    for minute in range(8):
        lille += visit_items("lille-02", f"2026-11-11T13:{minute:02d}:00+00:00", 5, 10)
    for minute in range(2):
        lille += visit_items("lille-02", f"2026-11-11T14:{minute:02d}:00+00:00", 3, 7)
    ingest(db, "lille-02", lille)


def naive(db: CentralDB) -> list[tuple[object, ...]]:
    a = answers.c
    query = select(a.store_id, a.local_day, a.question_id, a.value, a.suspect, func.count()).group_by(
        a.store_id, a.local_day, a.question_id, a.value, a.suspect
    )
    with db.reading() as conn:
        return sorted(tuple(r) for r in conn.execute(query))


def rolled(db: CentralDB) -> list[tuple[object, ...]]:
    r = rollup_daily.c
    query = select(r.store_id, r.local_day, r.question_id, r.value, r.suspect, r.n)
    with db.reading() as conn:
        return sorted(tuple(row) for row in conn.execute(query))


def test_rollups_follow_ingest_and_equal_a_recount(directory_db: CentralDB) -> None:
    seed(directory_db)
    assert rolled(directory_db) == naive(directory_db)
    with directory_db.reading() as conn:
        kinds = dict(conn.execute(select(rollup_daily.c.question_id, rollup_daily.c.kind).distinct()).all())
        hourly_total = conn.execute(select(func.sum(rollup_hourly.c.n))).scalar_one()
        total = conn.execute(select(func.count()).select_from(answers)).scalar_one()
    assert kinds == {"satisfaction": "smiley5", "reason": "choice", "recommend": "nps"}
    assert hourly_total == total
    with directory_db.writing() as conn:
        rebuild(conn)
    assert rolled(directory_db) == naive(directory_db)


def test_aggregate_counts_visits_and_ranks_with_the_published_formula(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    body = client.get("/api/v1/aggregate", params={**PERIOD, "index": "nps"}).json()
    rows = {r["store"]: r for r in body["stores"]}
    paris, lille, nice = rows["paris-01"], rows["lille-02"], rows["nice-03"]
    # Visits: 4 in the period, one of them a repeated press (excluded and counted apart).
    assert (paris["responses"], paris["repeated_presses"]) == (4, 1)
    assert paris["value"] == 0.0 and paris["previous"] == 100.0 and paris["change"] == -100.0
    assert (paris["target"], paris["gap"]) == (40.0, -40.0)  # its own target
    assert (lille["value"], lille["target"], lille["gap"]) == (80.0, 30.0, 50.0)  # the group's parent's
    assert (nice["responses"], nice["value"], nice["target"]) == (0, None, 20.0)
    # The scope's NPS from counts (10 promoters, 2 detractors of 14), not the mean of 0 and 80.
    assert body["total"]["value"] == 57.1 and body["total"]["responses"] == 14
    # RS = (WAI*W + I*R)/(W + R): WAI = 800/14, W = 7.
    wai, weight = 800 / 14, 7
    assert paris["ranking_score"] == round((wai * weight + 0 * 4) / (weight + 4), 1)
    assert lille["ranking_score"] == round((wai * weight + 80 * 10) / (weight + 10), 1)
    assert [r["store"] for r in body["stores"]] == ["lille-02", "paris-01", "nice-03"]
    assert [r["rank"] for r in body["stores"]] == [1, 2, None]
    # One point a day: 33.3 on the 10th, nothing on the 11th, -100 (one detractor) on the 12th.
    assert paris["trend"][:3] == [33.3, None, -100.0] and len(paris["trend"]) == 7
    csat = client.get("/api/v1/aggregate", params={**PERIOD, "index": "csat"}).json()
    assert {r["store"]: r["value"] for r in csat["stores"]}["paris-01"] == 50.0


def test_store_aggregate_heat_map_is_in_store_local_time(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    body = client.get("/api/v1/aggregate/stores/paris-01", params=PERIOD).json()
    hours = body["heatmap"]["hours"]
    tuesday = dt.date(2026, 11, 10).weekday()
    # 09:30-09:40 UTC is 10:30-10:40 in Paris in November: three visits (the repeated press left out).
    assert body["heatmap"]["rows"][tuesday][hours.index(10)] == 3
    assert (hours[0] == 9 and 20 not in hours[-1:]) or hours[-1] == 19
    assert {r["reason"]: r["count"] for r in body["reasons"]} == {"waiting": 1, "price": 1}
    assert body["distribution"]["10"] == 1 and body["value"] == 0.0 and body["target"] == 40.0
    assert body["group_average"] == 57.1  # the north group: paris and lille
    assert next(d["day"] for d in body["daily"]) == "2026-11-10" and body["daily"][0]["value"] == 33.3
    assert body["devices"][0]["device"] == "till-1"


def test_every_reader_sees_only_its_scope(directory_db: CentralDB, make_client: AppFactory) -> None:
    seed(directory_db)
    manager = sign_in(make_client(), "pierre")
    mine = manager.get("/api/v1/aggregate", params=PERIOD).json()
    assert [r["store"] for r in mine["stores"]] == ["paris-01"] and mine["total"]["responses"] == 4
    assert "Lille" not in str(mine)
    assert manager.get("/api/v1/aggregate/stores/lille-02", params=PERIOD).status_code == 403
    assert manager.get("/api/v1/stores/lille-02/scores", params=PERIOD).status_code == 403
    assert manager.get("/api/v1/aggregate", params={**PERIOD, "group": "south"}).status_code == 404
    regional = sign_in(make_client(), "nora")
    north = regional.get("/api/v1/aggregate", params=PERIOD).json()
    assert sorted(r["store"] for r in north["stores"]) == ["lille-02", "paris-01"]
    assert regional.get("/api/v1/aggregate/stores/nice-03", params=PERIOD).status_code == 403
    fleet = regional.get("/api/v1/fleet").json()
    assert sorted(d["store"] for d in fleet["devices"]) == ["lille-02", "paris-01"]
    anonymous = make_client()
    assert anonymous.get("/api/v1/aggregate", params=PERIOD).status_code == 401


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01", "to": "2026-11-02"}, "from: not a day"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "is after"),
        ({"period": "fortnight"}, "period must be one of"),
        ({"period": "7d", "index": "wow"}, "index must be one of"),
        ({"period": "7d", "group": "atlantis"}, "no group"),
    ],
)
def test_bad_views_are_a_400_or_404_with_a_reason(
    directory_db: CentralDB, make_client: AppFactory, params: dict[str, str], message: str
) -> None:
    client = sign_in(make_client(), "alice")
    reply = client.get("/api/v1/aggregate", params=params)
    assert reply.status_code in (400, 404) and message in reply.json()["detail"]


def test_set_stores_loads_groups_and_stores_and_refuses_bad_entries(
    directory_db: CentralDB, tmp_path: Path
) -> None:
    directory = load_directory(directory_db)
    assert directory.stores_in("france") == {"paris-01", "lille-02", "nice-03"}
    assert directory.stores["paris-01"].opening_hours[4] == [(9 * 60, 20 * 60)]
    assert directory.target("nice-03", "csat") == 80.0
    runner = CliRunner()
    good = tmp_path / "stores.toml"
    good.write_text('[stores.lyon-04]\nname = "Lyon"\ngroup = "south"\ntimezone = "Europe/Paris"\n')
    ok = runner.invoke(central_main, ["set-stores", str(good), "--db", directory_db.url])
    assert ok.exit_code == 0 and "0 groups and 1 stores set" in ok.output
    assert "lyon-04" in load_directory(directory_db).stores_in("france")
    # Each refusal names the file and the line of the key at fault, as every file here does.
    for text, message in [
        ('[stores.x]\nname = "X"\ntimezone = "Mars/Olympus"\n', ":3: stores.x.timezone: unknown time zone"),
        (
            '[stores.x]\nname = "X"\ntimezone = "UTC"\nopening_hours = { mon = "9-17" }\n',
            ":4: stores.x.opening_hours.mon: '9-17' is not HH:MM-HH:MM",
        ),
        (
            '[stores.x]\nname = "X"\ntimezone = "UTC"\nopening_hours = { mon = "18:00-09:00" }\n',
            ":4: stores.x.opening_hours.mon:",
        ),
        (
            '[stores.x]\nname = "X"\ntimezone = "UTC"\n\ngroup = "moon"\n',
            ":5: stores.x.group: no group 'moon'",
        ),
        ('[stores.x]\nname = "X"\ntimezone = "UTC"\ntargets = { nps = 300 }\n', ":4: stores.x.targets.nps"),
        (
            '[groups.a]\nname = "A"\nparent = "b"\n[groups.b]\nname = "B"\nparent = "a"\n',
            ":3: groups.a.parent: groups nest in a loop",
        ),
        ('name = "x"\n[stores\n', ":2: invalid TOML"),
        ('[shops.x]\nname = "X"\n', ":1: shops: unknown table"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        result = runner.invoke(central_main, ["set-stores", str(bad), "--db", directory_db.url])
        assert result.exit_code == 2 and f"{bad}{message}" in result.output, (text, result.output)
        assert "Traceback" not in result.output
        with pytest.raises(CentralError):
            set_stores(directory_db, "test", text)
    assert "x" not in load_directory(directory_db).stores  # nothing of a refused file is written


def test_kiosks_get_the_directory_name_time_zone_and_targets_in_their_configuration(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    import tomllib

    from kiosk.config import check_config_text
    from sync.central import service
    from sync.central.directory import load_directory, stamp_candidates

    token = service.add_device(directory_db, "paris-01", "till-9")
    client = make_client()
    served = client.get("/api/v1/device/config", headers={"Authorization": f"Bearer {token}"})
    assert served.status_code == 200
    config = check_config_text(served.text, "served")  # what a kiosk does with it
    assert (config.store.name, config.store.timezone) == ("Paris Rivoli", "Europe/Paris")
    assert "# Configuration of one feedback kiosk" in served.text  # comments kept
    again = client.get(
        "/api/v1/device/config",
        headers={"Authorization": f"Bearer {token}", "If-None-Match": served.headers["etag"]},
    )
    assert again.status_code == 304
    # The [targets] table as written for kiosk releases that read it: its own NPS, the rest inherited.
    directory = load_directory(directory_db)
    with_targets, _without = stamp_candidates(directory.stores["paris-01"], served.text, directory)
    assert tomllib.loads(with_targets)["targets"] == {"nps": 40.0, "csat": 80.0, "happy_index": 75.0}
    # This kiosk release reads [targets]: the file it is served carries them (the manager screen shows them).
    assert (config.targets.nps, config.targets.csat, config.targets.happy_index) == (40.0, 80.0, 75.0)
    # A change in the directory changes what is served (a new ETag: kiosks pull it).
    set_stores(
        directory_db, "test", '[stores.paris-01]\nname = "Paris Rivoli (new)"\ntimezone = "Europe/Paris"\n'
    )
    changed = client.get(
        "/api/v1/device/config",
        headers={"Authorization": f"Bearer {token}", "If-None-Match": served.headers["etag"]},
    )
    assert changed.status_code == 200 and "Paris Rivoli (new)" in changed.text


def test_long_periods_read_the_monthly_rollup_with_the_same_figures(
    directory_db: CentralDB, make_client: AppFactory
) -> None:
    seed(directory_db)
    client = sign_in(make_client(), "alice")
    # 20 Aug - 10 Dec: September to November from the monthly rollup, the edges from the daily one.
    body = client.get("/api/v1/aggregate", params={"from": "2026-08-20", "to": "2026-12-10"}).json()
    paris = next(r for r in body["stores"] if r["store"] == "paris-01")
    # Six visits in November (four promoters, two detractors) and the repeated press.
    assert (paris["responses"], paris["repeated_presses"], paris["value"]) == (6, 1, 33.3)
    assert paris["trend"] == [None, None, None, 33.3, None]  # a point a month, August to December
    from sync.central.db import rollup_monthly

    with directory_db.reading() as conn:
        monthly = sorted(
            tuple(r)
            for r in conn.execute(
                select(
                    rollup_monthly.c.store_id,
                    rollup_monthly.c.question_id,
                    rollup_monthly.c.value,
                    rollup_monthly.c.n,
                )
            )
        )
    daily: dict[tuple[str, str, str], int] = {}
    for store, _day, question, value, _suspect, n in naive(directory_db):
        daily[(store, question, value)] = daily.get((store, question, value), 0) + n  # type: ignore[index]
    assert sum(n for *_, n in monthly) == sum(daily.values())


def test_a_directory_change_reaches_every_server_process_on_its_next_read(directory_db: CentralDB) -> None:
    """Each process keeps the directory it read (a page at 1,000 stores would read it every time); another
    process's change is seen on the next read, a group's target as much as a store's name."""
    other = CentralDB(directory_db.url, create=False)  # a second server process on the same database
    try:
        before = load_directory(directory_db)
        assert load_directory(directory_db) is before  # kept: nothing changed
        set_stores(other, "test", '[groups.north]\nname = "Nord"\ntargets = { nps = 55 }\n')
        after = load_directory(directory_db)
        assert after is not before and after.groups["north"].targets["nps"] == 55
        assert after.target("lille-02", "nps") == 55
        set_stores(
            other,
            "test",
            '[stores.lille-02]\nname = "Lille Flandres"\ngroup = "north"\ntimezone = "Europe/Paris"\n',
        )
        assert load_directory(directory_db).stores["lille-02"].name == "Lille Flandres"
    finally:
        other.dispose()
