"""Visit flags reach head office: a storm of presses that an upload cut in two scores the same on the kiosk
and at central, on SQLite and PostgreSQL.

The kiosk flags a run of alike visits once they have ended, first visit included; answers already uploaded
went unflagged. The next upload carries the flags (`visit_flags`), central makes its copy of those answers
suspect and moves their rollup counts, once, and keeps the flags for answers that arrive later.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import Sequence
from typing import Any

import requests
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kiosk.cli import main as kiosk_main
from kiosk.config import check_config_text
from kiosk.domain.days import format_utc
from kiosk.domain.scoring import daily_scores
from kiosk.recording import AnswerRecorder
from kiosk.storage import NewAnswer, ResponseStore
from sync.central import rollups, service
from sync.central.db import CentralDB, answers, rollup_daily, rollup_hourly, rollup_monthly
from sync.central.routers.device import upload_reply
from sync.central.service import DeviceIdentity
from sync.outbox import Outbox
from sync.pairing import load_pairing
from sync.planner import HttpReply
from sync.protocol import UPLOAD_PATH, answer_to_wire, upload_body
from sync.uploader import drain
from tests.integration.sync.conftest import KioskFactory
from tests.integration.sync.harness import KioskDir, LiveServer, make_kiosk
from tests.integration.sync.test_upload import sync_once

# 10:00 in Paris on 2026-11-24.
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
DAY = "2026-11-24"


def tap_visit(store: ResponseStore, at: dt.datetime, face: int, reason: str | None = None) -> dt.datetime:
    """One visit through the tap path: a face, then a reason for a low one; returns its last answer's time."""
    first = AnswerRecorder(store).record(NewAnswer("satisfaction", face, at))
    if reason is None:
        return at
    at += dt.timedelta(seconds=1)
    AnswerRecorder(store).record(NewAnswer("reason", reason, at, session_id=first.session_id))
    return at


def kiosk_scores(kiosk: KioskDir) -> dict[str, Any]:
    result = CliRunner().invoke(
        kiosk_main, ["scores", "--from", DAY, "--to", DAY, "--json", "--data-dir", str(kiosk.data_dir)]
    )
    assert result.exit_code == 0, result.output
    scores: dict[str, Any] = json.loads(result.output)
    return scores


def central_get(server: LiveServer, admin: str, path: str, **params: str) -> dict[str, Any]:
    reply = requests.get(
        f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {admin}"}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def rollup_rows(db: CentralDB) -> dict[str, list[tuple[Any, ...]]]:
    with db.reading() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(select(t)))
            for t in (rollup_daily, rollup_monthly, rollup_hourly)
        }


def test_a_storm_cut_by_an_upload_scores_the_same_on_kiosk_and_central(
    server: LiveServer, new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url=server.url)
    admin = service.add_admin(central_db, "boss")
    with kiosk.opened() as store:
        at = MORNING
        for face in (5, 4, 5):  # shoppers, a minute apart
            tap_visit(store, at, face)
            at += dt.timedelta(minutes=1)
        # A storm on the very unhappy face (and the reason under the finger), a press every 2-3 s.
        for _ in range(2):
            at = tap_visit(store, at, 1, "waiting") + dt.timedelta(seconds=2)
        AnswerRecorder(store).end_visits(at)
    # The upload job runs mid-storm: two alike visits are no run yet, so they leave unflagged.
    assert sync_once(kiosk).ok
    scores = central_get(server, admin, f"/api/v1/stores/{kiosk.store_id}/scores", **{"from": DAY, "to": DAY})
    assert scores["days"][0]["questions"]["satisfaction"]["responses"] == 5
    with kiosk.opened() as store:
        for _ in range(4):
            at = tap_visit(store, at, 1, "waiting") + dt.timedelta(seconds=3)
        AnswerRecorder(store).end_visits(at + dt.timedelta(seconds=10))
    mine = kiosk_scores(kiosk)
    satisfaction = mine["days"][0]["questions"]["satisfaction"]
    # The whole storm is repeated presses on the kiosk, its first two visits included.
    assert (satisfaction["responses"], satisfaction["excluded"]) == (3, 6)

    assert sync_once(kiosk).ok
    assert (
        central_get(server, admin, f"/api/v1/stores/{kiosk.store_id}/scores", **{"from": DAY, "to": DAY})
        == mine
    )
    page = central_get(
        server, admin, f"/api/v1/aggregate/stores/{kiosk.store_id}", **{"from": DAY, "to": DAY}
    )
    assert (page["responses"], page["repeated_presses"]) == (3, 6)
    assert page["reasons"] == []  # the storm's "waiting" left the reasons too
    # The moved counts are exactly a recount from central's answers.
    moved = rollup_rows(central_db)
    with central_db.writing() as conn:
        rollups.rebuild(conn)
    assert rollup_rows(central_db) == moved
    with kiosk.opened() as store:
        assert Outbox(store).pending_flags(100) == []  # acknowledged: not sent again


def ingest(db: CentralDB, items: Sequence[Any], flags: list[str]) -> service.IngestResult:
    return service.ingest(
        db, DeviceIdentity("paris-01", "till-1"), items, dt.datetime.now(dt.UTC), None, flags
    )


def storm_items(session: str) -> list[dict[str, Any]]:
    """One answer of a visit as a protocol 1 kiosk sends it (checked against the store's current survey)."""
    return [
        {
            "id": str(uuid.uuid4()),
            "session": session,
            "question": "satisfaction",
            "value": "1",
            "created_at": format_utc(MORNING),
            "local_day": DAY,
            "language": "fr",
            "survey_version": "v-test",
            "suspect": False,
        }
    ]


def suspect_of(db: CentralDB, session: str) -> list[bool]:
    with db.reading() as conn:
        return [
            bool(s) for (s,) in conn.execute(select(answers.c.suspect).where(answers.c.session_id == session))
        ]


def test_a_flag_sent_twice_moves_nothing_twice(new_kiosk: KioskFactory, central_db: CentralDB) -> None:
    kiosk = new_kiosk(url="http://127.0.0.1:9")
    with kiosk.opened() as store:
        for minute, face in enumerate((1, 1, 5)):
            tap_visit(store, MORNING + dt.timedelta(minutes=minute), face)
        sent = [answer_to_wire(r) for r in Outbox(store).pending_batch(10)]
    result = ingest(central_db, sent, [])
    assert len(result.accepted) == 3
    before = rollup_rows(central_db)
    flagged = sent[0]["session"]
    assert ingest(central_db, [], [flagged]).flags_applied == [flagged]
    once = rollup_rows(central_db)
    assert once != before
    assert suspect_of(central_db, flagged) == [True]
    # Sent again (the kiosk died before marking it, or an old reply was lost) and with its answer resent.
    again = ingest(central_db, [{**sent[0], "suspect": True}], [flagged, flagged])
    assert again.duplicate == [sent[0]["id"]] and again.conflict == []
    assert rollup_rows(central_db) == once
    daily = {(r[4], r[5]): r[6] for r in once["rollup_daily"] if r[2] == "satisfaction"}
    assert daily == {("1", True): 1, ("1", False): 1, ("5", False): 1}


def test_a_flag_that_arrives_before_its_answers_makes_them_suspect(
    new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    new_kiosk(url="http://127.0.0.1:9")
    session = str(uuid.uuid4())
    assert ingest(central_db, [], [session]).flags_applied == [session]
    assert rollup_rows(central_db)["rollup_daily"] == []
    late = storm_items(session)
    assert ingest(central_db, late, []).accepted == [late[0]["id"]]
    assert suspect_of(central_db, session) == [True]
    rows = rollup_rows(central_db)["rollup_daily"]
    assert [(r[2], r[4], r[5], r[6]) for r in rows] == [("satisfaction", "1", True, 1)]
    # Another device's visit of the same id is not this device's flag.
    other = service.add_device(central_db, "paris-01", "till-2")
    assert other
    result = service.ingest(
        central_db, DeviceIdentity("paris-01", "till-2"), storm_items(session), dt.datetime.now(dt.UTC)
    )
    assert len(result.accepted) == 1
    assert sorted(suspect_of(central_db, session)) == [False, True]


def post(kiosk: KioskDir, server: LiveServer, body: dict[str, Any]) -> requests.Response:
    token = load_pairing(kiosk.data_dir).token
    return requests.post(
        f"{server.url}{UPLOAD_PATH}",
        data=gzip.compress(json.dumps(body).encode()),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
        timeout=10,
    )


def test_bodies_without_visit_flags_are_still_accepted_and_bad_ones_refused(
    server: LiveServer, new_kiosk: KioskFactory
) -> None:
    kiosk = new_kiosk(url=server.url)
    with kiosk.opened() as store:
        tap_visit(store, MORNING, 4)
        tap_visit(store, MORNING + dt.timedelta(minutes=1), 2)
        wire = [answer_to_wire(r) for r in Outbox(store).pending_batch(10)]
        surveys = store.survey_definitions(a["survey_version"] for a in wire)
    now = format_utc(dt.datetime.now(dt.UTC))
    # A protocol 1 kiosk: no surveys, no visit flags.
    old = {
        "protocol": 1,
        "store": kiosk.store_id,
        "device": kiosk.device_id,
        "sent_at": now,
        "answers": wire[:1],
    }
    reply = post(kiosk, server, old)
    assert reply.status_code == 200 and reply.json()["accepted"] == [wire[0]["id"]]
    assert "flags_applied" not in reply.json()
    # A protocol 2 kiosk from before visit flags.
    body = upload_body(kiosk.store_id, kiosk.device_id, now, wire[1:], surveys)
    assert "visit_flags" not in body
    reply = post(kiosk, server, dict(body))
    assert reply.status_code == 200 and reply.json()["accepted"] == [wire[1]["id"]]
    assert reply.json()["flags_applied"] == []
    for bad in ("abc", [1], [""], ["x" * 201], ["a"] * 1001):
        reply = post(kiosk, server, {**body, "answers": [], "visit_flags": bad})
        assert reply.status_code == 400 and "visit_flags" in reply.json()["detail"], bad


class OldCentral:
    """A central from before visit flags: answers every answer, ignores `visit_flags`."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def upload(self, body: dict[str, Any]) -> HttpReply:
        self.bodies.append(body)
        ids = [a["id"] for a in body["answers"]]
        reply = {
            "protocol": 2,
            "received_at": "2026-11-24T12:00:00.000000Z",
            "max_batch": 500,
            "accepted": ids,
            **{status: [] for status in ("duplicate", "conflict", "rejected", "flagged")},
            "device_answers": len(ids),
        }
        return HttpReply(200, {}, json.dumps(reply).encode())


def test_flags_an_older_central_ignores_stay_pending_and_a_restore_sends_them_again(
    new_kiosk: KioskFactory, central_db: CentralDB
) -> None:
    kiosk = new_kiosk(url="http://127.0.0.1:9")
    with kiosk.opened() as store:
        at = MORNING
        for _ in range(3):
            at = tap_visit(store, at, 1) + dt.timedelta(seconds=2)
        AnswerRecorder(store).end_visits(at + dt.timedelta(seconds=10))
        outbox = Outbox(store)
        flagged = outbox.pending_flags(10)
        assert len(flagged) == 3
        old = OldCentral()
        result = drain(outbox, old, kiosk.store_id, kiosk.device_id)  # type: ignore[arg-type]
        assert result.ok and result.synced == 3
        # Sent once with the answers, then the drain stops: not acknowledged, so still pending.
        assert [sorted(b.get("visit_flags", [])) for b in old.bodies] == [sorted(flagged)]
        assert sorted(outbox.pending_flags(10)) == sorted(flagged)
        outbox.record_delivery([], [], dt.datetime.now(dt.UTC), flags_sent=flagged)
        assert outbox.pending_flags(10) == []
        # Central restored from a backup: the flags may be older than the copy, so they go again too.
        outbox.resend_after_restore(0, dt.datetime.now(dt.UTC))
        assert sorted(outbox.pending_flags(10)) == sorted(flagged)


class DirectCentral:
    """Central's ingest called in process, answering like the upload endpoint (fast enough for a property)."""

    def __init__(self, db: CentralDB, who: DeviceIdentity, now: dt.datetime) -> None:
        self.db, self.who, self.now = db, who, now

    def upload(self, body: dict[str, Any]) -> HttpReply:
        flags = service.check_visit_flags(body.get("visit_flags"))
        result = service.ingest(self.db, self.who, body["answers"], self.now, body.get("surveys"), flags)
        reply = upload_reply(result, 2, self.now, 1000)
        return HttpReply(200, {}, json.dumps(reply).encode())


# A step of a till's morning: a shopper's visit (face, seconds since the previous visit's last answer, a
# reason when the face is low), a storm (face, presses 2-3 s apart, the upload job after that many of them),
# the app back on its start screen, or the upload job (with its batch size).
STEPS = st.one_of(
    st.tuples(
        st.just("visit"), st.sampled_from([1, 2, 4, 5]), st.sampled_from([1, 3, 6, 7, 90]), st.booleans()
    ),
    st.tuples(st.just("storm"), st.sampled_from([1, 2, 5]), st.integers(2, 6), st.integers(0, 6)),
    st.tuples(st.just("end"), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just("upload"), st.integers(1, 6), st.just(0), st.just(0)),
)


@given(st.lists(STEPS, min_size=1, max_size=40))
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_any_traffic_and_any_upload_points_score_the_same_at_central(
    central_db: CentralDB, tmp_path_factory: Any, steps: list[tuple[str, int, int, int]]
) -> None:
    store_id = f"s-{uuid.uuid4().hex[:12]}"
    token = service.add_device(central_db, store_id, "till-1")
    kiosk = make_kiosk(tmp_path_factory.mktemp("kiosk"), store_id, "till-1", "http://127.0.0.1:9", token)
    text = (kiosk.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    service.set_config(central_db, store_id, text)
    config = check_config_text(text, "x")
    central = DirectCentral(central_db, DeviceIdentity(store_id, "till-1"), MORNING)
    at = MORNING
    with kiosk.opened() as store:
        outbox = Outbox(store)
        for kind, a, b, c in steps:
            if kind == "visit":
                at = tap_visit(store, at + dt.timedelta(seconds=b), a, "waiting" if c and a <= 2 else None)
            elif kind == "storm":
                for press in range(b):
                    if press == c:
                        assert drain(outbox, central, store_id, "till-1").ok  # type: ignore[arg-type]
                    at = tap_visit(store, at + dt.timedelta(seconds=2 + press % 2), a)
            elif kind == "end":
                AnswerRecorder(store).end_visits(at + dt.timedelta(seconds=1))
            else:
                assert drain(outbox, central, store_id, "till-1", batch_size=a).ok  # type: ignore[arg-type]
        AnswerRecorder(store).end_visits(at + dt.timedelta(seconds=60))
        assert drain(outbox, central, store_id, "till-1", batch_size=4).ok  # type: ignore[arg-type]
        day = MORNING.date()
        on_kiosk = daily_scores(config.store, config.survey, store.count_rows(day, day), day, day)
        kiosk_counts = sorted(
            (r.day.isoformat(), r.question, r.value, r.suspect, r.count) for r in store.count_rows(day, day)
        )
    assert service.store_scores(central_db, store_id, day, day) == on_kiosk
    with central_db.reading() as conn:
        central_counts = sorted(
            (r.local_day, r.question_id, r.value, bool(r.suspect), r.n)
            for r in conn.execute(select(rollup_daily).where(rollup_daily.c.store_id == store_id))
        )
    assert central_counts == kiosk_counts
