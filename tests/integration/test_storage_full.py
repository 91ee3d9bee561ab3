"""A full disk and a read-only database while taps arrive, for real: a tiny tmpfs that fills up (as root),
SQLite's page limit, and SQLite's query_only mode. The answers are held in memory, never reported as stored,
and land exactly once and in order when the database takes answers again."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.bootstrap import Kiosk, as_recorder, open_kiosk
from kiosk.config import default_config_text
from kiosk.holding import HoldingRecorder
from kiosk.storage import Answer, NewAnswer
from kiosk.ui.presenters import SurveyFlow, storage_lines

START = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)


def make_kiosk(directory: Path) -> Kiosk:
    directory.mkdir(parents=True, exist_ok=True)
    text = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    (directory / "kiosk.toml").write_text(text, encoding="utf-8")
    return open_kiosk(directory)


class Taps:
    """Visits as the screen makes them (SurveyFlow over the holder): a face, then the 0-10 question."""

    def __init__(self, holder: HoldingRecorder) -> None:
        self.results: list[tuple[NewAnswer, Answer | None]] = []

        def record(new: NewAnswer) -> Answer | None:
            result = holder.record(new)
            self.results.append((new, result))
            return result

        # The tap path as the composition root builds it: an answer given on screen -> the holder.
        self.flow = SurveyFlow(holder.store.config.survey, as_recorder(record))
        self.count = 0

    def visit(self) -> None:
        at = START + dt.timedelta(minutes=self.count)
        self.count += 1
        now = self.count * 100.0
        self.flow.answer(4, at, now)
        self.flow.answer(9, at + dt.timedelta(seconds=3), now + 3)
        self.flow.tick(now + 50)

    @property
    def held(self) -> int:
        return sum(1 for _, result in self.results if result is None)


Key = tuple[str, str, str]


def key(new: NewAnswer) -> Key:
    """What tells a tap from another (the id is given by the holder or the store, not by the screen)."""
    assert new.session_id is not None
    return (new.session_id, new.question_id, new.created_at.isoformat())


def stored_keys(kiosk: Kiosk) -> list[Key]:
    return [
        (session, question, dt.datetime.fromisoformat(created).isoformat())
        for session, question, created in kiosk.store.db.conn.execute(
            "SELECT session_id, question_id, created_at FROM answers ORDER BY rowid"
        )
    ]


def assert_landed_once_in_order(kiosk: Kiosk, taps: Taps) -> None:
    keys = stored_keys(kiosk)
    assert len(keys) == len(set(keys))
    assert keys == [key(new) for new, _ in taps.results]
    assert kiosk.store.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the page-limit test covers the same path)")
    path = tmp_path / "tiny"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], check=True)

    def resize(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)

    yield resize
    subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_filesystem_holds_taps_in_memory_then_writes_them_once_in_order(
    tmp_path: Path, tiny_tmpfs: Callable[[str], None]
) -> None:
    kiosk = make_kiosk(tmp_path / "tiny" / "kiosk")
    holder = HoldingRecorder(kiosk.recorder)
    taps = Taps(holder)
    while taps.held == 0:
        taps.visit()
    stored_before = kiosk.store.answer_count()
    for _ in range(100):
        taps.visit()
    held = holder.state
    assert held.held == taps.held >= 200 and held.refused == 0
    assert "full" in (held.problem or "")
    # Only what record returned as stored is stored: not one held answer is in the file.
    assert kiosk.store.answer_count() == stored_before == len(taps.results) - taps.held
    lines = storage_lines(held_state(kiosk, holder), kiosk.config.store.tz, "en", lambda _lang, m: m)
    assert lines and f"{held.held} answers held in memory" in lines[0]

    holder.retry(1e9)
    assert holder.state.held == held.held  # still full: nothing written, nothing lost
    tiny_tmpfs("8m")
    tick = 2e9
    while holder.retry(tick):  # the app's tick, no tap: a batch each time
        tick += 0.25
    assert holder.state.problem is None
    taps.visit()
    assert_landed_once_in_order(kiosk, taps)
    kiosk.close()


def held_state(kiosk: Kiosk, holder: HoldingRecorder):  # type: ignore[no-untyped-def]
    from kiosk.bootstrap import storage_state

    return storage_state(kiosk, holder)


def fill_to_page_limit(kiosk: Kiosk) -> None:
    pages = kiosk.store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    kiosk.store.db.conn.execute(f"PRAGMA max_page_count = {pages}")


def test_at_the_page_limit_taps_are_held_and_drain_in_order_while_new_taps_arrive(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk")
    holder = HoldingRecorder(kiosk.recorder, batch=20)
    taps = Taps(holder)
    for _ in range(5):
        taps.visit()
    fill_to_page_limit(kiosk)
    for _ in range(300):
        taps.visit()
    held = holder.state.held
    assert held == taps.held > 40
    kiosk.store.db.conn.execute("PRAGMA max_page_count = 1073741823")
    # Each tap writes a batch of the backlog first and queues behind what is left: order is kept.
    taps.visit()  # two taps
    assert holder.state.held == held - 2 * 20 + 2 and taps.results[-1][1] is None
    tick = 0.0
    while holder.retry(tick):
        tick += 0.25
        taps.visit()
    assert tick < 60  # drained on the tick, a batch each time, while shoppers kept tapping
    taps.visit()
    assert taps.results[-1][1] is not None
    assert_landed_once_in_order(kiosk, taps)
    kiosk.close()


def test_at_the_memory_bound_new_taps_are_refused_and_counted_never_the_old_ones_dropped(
    tmp_path: Path,
) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk")
    holder = HoldingRecorder(kiosk.recorder, limit=50)
    taps = Taps(holder)
    taps.visit()
    kiosk.store.db.conn.execute("PRAGMA query_only = ON")  # SQLite refuses every write: a read-only file
    for _ in range(30):
        taps.visit()
    state = holder.state
    assert (state.held, state.refused) == (50, 10)
    assert "read-only" in (state.problem or "")
    kiosk.store.db.conn.execute("PRAGMA query_only = OFF")
    assert holder.flush()  # all at once, as `kiosk run` does when it stops
    # The first two (stored at once) and the 50 oldest held ones, in order; the 10 refused are not there.
    assert stored_keys(kiosk) == [key(new) for new, _ in taps.results[:52]]
    assert kiosk.store.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    kiosk.close()


def test_a_refused_answer_is_refused_at_once_even_while_holding(tmp_path: Path) -> None:
    from kiosk.domain.survey import AnswerError

    kiosk = make_kiosk(tmp_path / "kiosk")
    holder = HoldingRecorder(kiosk.recorder)
    kiosk.store.db.conn.execute("PRAGMA query_only = ON")
    assert holder.record(NewAnswer("satisfaction", 4, START)) is None
    with pytest.raises(AnswerError):
        holder.record(NewAnswer("satisfaction", 9, START))
    assert holder.state.held == 1
    kiosk.close()


def test_a_held_answer_the_changed_survey_refuses_is_counted_and_an_already_stored_one_is_not_doubled(
    tmp_path: Path,
) -> None:
    import dataclasses

    kiosk = make_kiosk(tmp_path / "kiosk")
    holder = HoldingRecorder(kiosk.recorder)
    conn = kiosk.store.db.conn
    conn.execute("PRAGMA query_only = ON")
    assert holder.record(NewAnswer("satisfaction", 4, START, session_id="v1")) is None
    assert holder.record(NewAnswer("recommend", 9, START, session_id="v1")) is None
    conn.execute("PRAGMA query_only = OFF")
    # The first one reached the disk after all (another writer stored the same answer): not written twice.
    first = holder._held[0]
    kiosk.recorder.record(first)
    # A new configuration without the 0-10 question arrives while the second one waits.
    config = kiosk.store.config
    survey = dataclasses.replace(
        config.survey, questions=tuple(q for q in config.survey.questions if q.id != "recommend")
    )
    kiosk.store.config = dataclasses.replace(config, survey=survey)
    assert holder.flush()
    assert holder.state.rejected == 1 and holder.state.held == 0
    assert [row["id"] for row in kiosk.store.answers()] == [first.id]
    kiosk.close()


def test_held_answers_saved_at_a_stop_are_imported_once_with_their_ids(
    tmp_path: Path, data_dir: Path, kiosk_cli: Callable[..., object]
) -> None:
    from click.testing import Result

    kiosk = open_kiosk(data_dir)
    holder = HoldingRecorder(kiosk.recorder)
    taps = Taps(holder)
    taps.visit()
    kiosk.store.db.conn.execute("PRAGMA query_only = ON")
    for _ in range(4):
        taps.visit()
    assert holder.state.held == 8
    unwritable = tmp_path / "gone"  # the first choice fails: the next directory takes the file
    saved = holder.save_held([unwritable, tmp_path], START)
    assert saved is not None and saved.parent == tmp_path
    kiosk.close()  # the app stops; the database takes answers again afterwards
    imported = kiosk_cli("import", str(saved))
    assert isinstance(imported, Result) and imported.exit_code == 0, imported.output
    again = kiosk_cli("import", str(saved))
    assert isinstance(again, Result) and "8 already present" in again.output
    kiosk = open_kiosk(data_dir)
    assert_landed_once_in_order(kiosk, taps)
    kiosk.close()
