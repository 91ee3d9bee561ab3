"""Repeated presses flagged per visit once it has ended: answers never change, the counts follow the flags,
also when a second process (`kiosk record` while the app runs) writes in between."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.repeats import Visit, repeated_visits
from kiosk.domain.survey import KioskConfig
from kiosk.recording import AnswerRecorder
from kiosk.storage import SUSPECT_OF_VISIT, NewAnswer, ResponseStore

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def counts(store: ResponseStore) -> dict[tuple[str, str, bool], int]:
    rows = store.count_rows(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    return {(r.question, r.value, r.suspect): r.count for r in rows if r.count}


def recount(store: ResponseStore) -> dict[tuple[str, str, bool], int]:
    found: dict[tuple[str, str, bool], int] = {}
    for row in store.db.query(f"SELECT question_id, value, {SUSPECT_OF_VISIT} FROM answers"):
        key = (row["question_id"], row["value"], bool(row["suspect"]))
        found[key] = found.get(key, 0) + 1
    return found


def storm_visit(store: ResponseStore, start: dt.datetime) -> str:
    first = AnswerRecorder(store).record(NewAnswer("satisfaction", 1, start))
    AnswerRecorder(store).record(
        NewAnswer("reason", "waiting", start + dt.timedelta(seconds=2), session_id=first.session_id)
    )
    AnswerRecorder(store).record(
        NewAnswer("recommend", 0, start + dt.timedelta(seconds=4), session_id=first.session_id)
    )
    return first.session_id


def test_a_storm_is_flagged_whole_when_its_visits_end_and_the_scores_follow(store: ResponseStore) -> None:
    storm = [storm_visit(store, T0 + dt.timedelta(seconds=10 * i)) for i in range(3)]
    # The third visit has not ended yet: nothing is decided.
    assert counts(store)[("satisfaction", "1", False)] == 3
    shopper = AnswerRecorder(store).record(NewAnswer("satisfaction", 5, T0 + dt.timedelta(minutes=2)))
    assert counts(store) == recount(store)
    assert counts(store)[("satisfaction", "1", True)] == 3
    assert ("satisfaction", "1", False) not in counts(store)
    exported = {row["session_id"]: bool(row["suspect"]) for row in store.answers()}
    assert [exported[s] for s in storm] == [True, True, True] and not exported[shopper.session_id]
    # The answers themselves are as they were written.
    assert {row[0] for row in store.db.conn.execute("SELECT suspect FROM answers")} == {0}


def test_the_app_back_on_its_start_screen_decides_at_once(store: ResponseStore) -> None:
    for i in range(3):
        storm_visit(store, T0 + dt.timedelta(seconds=10 * i))
    AnswerRecorder(store).end_visits(T0 + dt.timedelta(seconds=33))
    assert counts(store)[("satisfaction", "1", True)] == 3 and counts(store) == recount(store)


def test_two_shoppers_answering_alike_are_both_counted(store: ResponseStore) -> None:
    for start in (0, 3 + 8):
        first = AnswerRecorder(store).record(NewAnswer("satisfaction", 5, T0 + dt.timedelta(seconds=start)))
        AnswerRecorder(store).record(
            NewAnswer("recommend", 9, T0 + dt.timedelta(seconds=start + 3), session_id=first.session_id)
        )
    AnswerRecorder(store).record(NewAnswer("satisfaction", 4, T0 + dt.timedelta(minutes=5)))
    assert counts(store)[("satisfaction", "5", False)] == 2


def test_answers_flagged_by_the_former_rule_keep_their_meaning(store: ResponseStore) -> None:
    store.db.conn.execute(
        "INSERT INTO answers (id, session_id, question_id, value, created_at, local_day, language, "
        "survey_version, suspect) VALUES ('a1', 's1', 'satisfaction', '2', '2026-10-01T09:00:00.000000Z', "
        "'2026-10-01', 'fr', '1', 1)"
    )
    assert counts(store) == {("satisfaction", "2", True): 1} == recount(store)
    with pytest.raises(sqlite3.IntegrityError):
        store.db.conn.execute("UPDATE answers SET suspect = 0")


operation = st.tuples(
    st.sampled_from(["new", "new", "follow"]),
    st.integers(1, 12),  # seconds since the previous answer
    st.sampled_from(["1", "1", "5"]),
    st.booleans(),  # written by the second process
    st.booleans(),  # a new visit's id made by the screen (as the app does), not by the store
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=30))
def test_flags_and_counts_equal_judging_every_ended_visit_at_once(
    tmp_path_factory: pytest.TempPathFactory, config: KioskConfig, ops: list[tuple[str, int, str, bool, bool]]
) -> None:
    path = tmp_path_factory.mktemp("db") / "kiosk.db"
    app, cli = ResponseStore(path, config), ResponseStore(path, config)
    recorders = {False: AnswerRecorder(app), True: AnswerRecorder(cli)}
    now = T0
    current: tuple[str, set[str]] | None = None
    visits: dict[str, list[tuple[str, str, dt.datetime]]] = {}
    for kind, seconds, value, second, screen in ops:
        now += dt.timedelta(seconds=seconds)
        # One recorder per process, kept for the whole run: each must notice what the other wrote.
        writer = recorders[second]
        if kind == "follow" and current is not None and len(current[1]) < 2:
            question = next(q for q in ("recommend", "reason") if q not in current[1])
            answer_value = "0" if question == "recommend" else "waiting"
            writer.record(NewAnswer(question, answer_value, now, session_id=current[0]))
            current[1].add(question)
        else:
            question, answer_value = "satisfaction", value
            made = str(uuid.uuid4()) if screen else None
            answer = writer.record(NewAnswer(question, value, now, session_id=made))
            assert made in (None, answer.session_id)
            current = (answer.session_id, {question})
        visits.setdefault(current[0], []).append((question, answer_value, now))
    ended = [Visit(sid, tuple(given)) for sid, given in visits.items()][:-1]
    flagged = {row[0] for row in app.db.conn.execute("SELECT session_id FROM visit_flags")}
    assert flagged == repeated_visits(ended, config.repeats)
    assert counts(app) == recount(app)
    app.close()
    cli.close()
