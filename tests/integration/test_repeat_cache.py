"""The tap path remembers the latest visits instead of asking SQLite each time; this checks it decides the
repeated-press flag exactly as a look-up in the file would, also when a second process writes in between
(the `kiosk record` command while the app runs), and after the clock goes back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.repeats import VisitMark, is_suspect
from kiosk.domain.survey import KioskConfig
from kiosk.storage import NewAnswer, ResponseStore

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
QUESTIONS = ("satisfaction", "recommend")


@dataclass
class Model:
    """What a look-up in the file gives: visits with answers at or before t, latest first."""

    answers: dict[str, list[tuple[dt.datetime, str, str]]] = field(default_factory=dict)

    def flag(self, at: dt.datetime, question: str, value: str, config: KioskConfig) -> bool:
        visits = []
        for order, rows in enumerate(self.answers.values()):
            before = sorted((r for r in rows if r[0] <= at), key=lambda r: r[0])
            if before:
                visits.append(
                    (before[-1][0], order, VisitMark(before[0][1], before[0][2], before[0][0], before[-1][0]))
                )
        # Latest answer first; on a tie, the visit written last (SQLite walks the index in rowid order).
        visits.sort(key=lambda v: (v[0], v[1]), reverse=True)
        mark = VisitMark(question, value, at, at)
        return is_suspect(mark, [v[2] for v in visits[: config.repeats.min_run - 1]], config.repeats)


operation = st.tuples(
    st.sampled_from(["new", "new", "follow"]),
    st.integers(0, 15),  # seconds since the previous operation
    st.sampled_from(["4", "4", "5"]),
    st.booleans(),  # written by the second process
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_flags_from_memory_equal_flags_from_the_file(
    tmp_path_factory: pytest.TempPathFactory, config: KioskConfig, ops: list[tuple[str, int, str, bool]]
) -> None:
    path = tmp_path_factory.mktemp("db") / "kiosk.db"
    app, cli = ResponseStore(path, config), ResponseStore(path, config)
    model = Model()
    now = T0
    current: tuple[str, set[str]] | None = None
    for kind, gap, value, second in ops:
        store = cli if second else app
        now += dt.timedelta(seconds=gap)
        if kind == "follow" and current is not None and len(current[1]) < len(QUESTIONS):
            question = next(q for q in QUESTIONS if q not in current[1])
            answer = store.record(NewAnswer(question, value, now, session_id=current[0]))
            current[1].add(question)
            model.answers[current[0]].append((now, question, answer.value))
            continue
        expected = model.flag(now, "satisfaction", value, config)
        answer = store.record(NewAnswer("satisfaction", value, now))
        assert answer.suspect == expected, (kind, now)
        current = (answer.session_id, {"satisfaction"})
        model.answers[answer.session_id] = [(now, "satisfaction", value)]
    app.close()
    cli.close()


def test_a_repeat_written_by_another_process_is_seen(tmp_path: Path, config: KioskConfig) -> None:
    path = tmp_path / "kiosk.db"
    with ResponseStore(path, config) as app, ResponseStore(path, config) as cli:
        assert not app.record(NewAnswer("satisfaction", 5, T0)).suspect
        assert cli.record(NewAnswer("satisfaction", 5, T0 + dt.timedelta(seconds=3))).suspect
        assert app.record(NewAnswer("satisfaction", 5, T0 + dt.timedelta(seconds=6))).suspect
        assert not app.record(NewAnswer("satisfaction", 4, T0 + dt.timedelta(seconds=9))).suspect


def test_after_the_clock_is_set_back_repeats_are_judged_on_the_new_timeline(
    tmp_path: Path, config: KioskConfig
) -> None:
    with ResponseStore(tmp_path / "kiosk.db", config) as store:
        assert not store.record(NewAnswer("satisfaction", 5, T0)).suspect
        back = T0 - dt.timedelta(hours=1)  # NTP corrected a clock that ran an hour fast
        assert not store.record(NewAnswer("satisfaction", 5, back)).suspect
        assert store.record(NewAnswer("satisfaction", 5, back + dt.timedelta(seconds=3))).suspect
        assert not store.record(NewAnswer("satisfaction", 5, back + dt.timedelta(seconds=60))).suspect
