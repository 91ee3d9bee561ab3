"""Recording answers, the use case behind a tap, `kiosk record` and `kiosk import`: an answer is checked
against the survey (kiosk.domain.answers.check_answer, the same check as head office's), joins its visit or
starts one, and a new visit has the repeated-press rule (kiosk.domain.repeats) judge the visits that ended
before it. kiosk.storage only stores and reads.

A tap is one write transaction: the answer (and a visit flag when the rule calls for one) committed, and so
fsynced, before `record` returns. To keep that transaction to one INSERT, the recorder keeps the last few
visits in memory. They are read from the database again whenever another connection has committed since
(`PRAGMA data_version`: `kiosk record` in another process, the sync jobs), something else wrote through this
connection (`total_changes`), the configuration changed, or an answer does not simply follow the last one
in time (an import, an answer added to an older visit): those take the database path, as they always did.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from kiosk.domain.answers import check_answer, check_in_visit
from kiosk.domain.days import local_day
from kiosk.domain.repeats import Visit, follows, repeated_run_ending, repeated_visits
from kiosk.domain.survey import AnswerError, KioskConfig, Question
from kiosk.storage import Answer, ImportResult, NewAnswer, ResponseStore, StoreError, explain

# A version 4 UUID's fixed bits: the version nibble (4) and the variant's two top bits (10).
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_id() -> str:
    """A random id, as `str(uuid.uuid4())` writes it (the same 122 bits from os.urandom) in half its time:
    a tap makes one or two."""
    text = f"{int.from_bytes(os.urandom(16), 'big') & _UUID4_KEEP | _UUID4_SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclasses.dataclass(slots=True)
class _RecentVisit:
    id: str
    answers: list[tuple[str, str, dt.datetime]]
    suspect: bool  # stored so by the rule before visit flags; its later answers say the same

    def frozen(self) -> Visit:
        return Visit(self.id, tuple(self.answers))


class AnswerRecorder:
    """Records answers into one store. Several recorders may share a store or a database file: each notices
    what the others committed. Not thread-safe, like the store's connection."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        # What the database looked like when `_recent` was last right: (data_version, total_changes, config).
        self._seen: tuple[int, int, KioskConfig] | None = None
        self._recent: list[_RecentVisit] = []  # the last visits, in time order
        self._latest: dt.datetime | None = None  # the time of the latest answer among them
        self._last_judged = False  # whether the last of them has been judged as ended
        self._judge_all = True  # after a fresh read: judge every visit read, not only the last run
        self._zone: tuple[KioskConfig, ZoneInfo] | None = None  # the store's time zone, per configuration

    @property
    def config(self) -> KioskConfig:
        return self.store.config

    # -- the use case -------------------------------------------------------------------------------------

    def record(self, new: NewAnswer) -> Answer:
        """Store one answer durably and return it; raises AnswerError for an answer the survey refuses.

        Without a session id the answer starts a new visit; its id is in the returned answer.
        """
        question, value, language = self._checked(new)
        store = self.store
        conn = store.conn
        # The transaction spelt out rather than `with store.writing()`: this is the tap, and every
        # microsecond of it counts (issue #9).
        try:
            store.begin()
            try:
                self._refresh(conn)
                session_id = new.session_id
                recent = self._recent
                if not self._in_order(new.created_at):
                    self._seen = None
                    answer = self._record_from_database(new, question, value, language)
                elif recent and recent[-1].id == session_id:
                    answer = self._continue_visit(new, question, value, language)
                elif session_id is None or (
                    # A visit id the screen made for its first answer: new unless stored already.
                    all(visit.id != session_id for visit in recent) and store.visit(session_id) is None
                ):
                    answer = self._start_visit(new, session_id, question, value, language)
                else:
                    self._seen = None
                    answer = self._record_from_database(new, question, value, language)
            except BaseException:
                store.rollback()
                raise
            store.commit()
            self._wrote(conn)
        except BaseException as error:
            self._seen = None  # memory and database may differ now: read the visits again next time
            if isinstance(error, sqlite3.OperationalError):
                raise StoreError(explain(store.path, error)) from None
            raise
        return answer

    def end_visits(self, now: dt.datetime) -> None:
        """Every visit so far has ended (the app is back on its start screen): judge them now rather than
        when the next shopper taps, so that the figures and the upload see the flags soon."""
        conn = self.store.conn
        try:
            with self.store.writing():
                self._refresh(conn)
                if self._in_order(now):
                    self._judge_ended()
                else:
                    self._seen = None
                    self._judge_visits_before(now)
            self._wrote(conn)
        except BaseException as error:
            self._seen = None
            if isinstance(error, sqlite3.OperationalError):
                raise StoreError(explain(self.store.path, error)) from None
            raise

    def check(self, new: NewAnswer) -> None:
        """Raise AnswerError if `record` would refuse this answer for its content (no database access)."""
        self._checked(new)

    def import_answers(
        self, rows: Sequence[NewAnswer], progress: Callable[[int], None] | None = None
    ) -> ImportResult:
        """Store many answers in one transaction: all of them or, on any error, none.

        Rows must already be checked (see kiosk.importer). Rows whose id is already stored with the same
        content are skipped (re-importing a file adds nothing); the same id with other content is an error.
        `progress` is told how many rows each step stored.
        """
        store, config = self.store, self.config
        survey = config.survey
        tz = config.store.tz
        ordered = sorted(rows, key=lambda r: r.created_at)
        sessions: dict[str, list[NewAnswer]] = {}
        for row in ordered:
            sessions.setdefault(row.session_id or row.id or new_id(), []).append(row)
        self._seen = None  # answers anywhere in time: the visits in memory are read again next time
        try:
            with store.writing():
                existing = store.existing_sessions(list(sessions))
                answers = []
                for sid, session_rows in sessions.items():
                    suspect = bool(existing.get(sid, 0))
                    for row in session_rows:
                        question, value, language = self._checked(row)
                        answers.append(
                            Answer(
                                id=row.id or new_id(),
                                session_id=sid,
                                question_id=question.id,
                                value=value,
                                created_at=row.created_at,
                                local_day=local_day(row.created_at, tz),
                                language=language,
                                survey_version=survey.version,
                                suspect=suspect,
                                kind=str(question.kind),
                                device_id=""
                                if row.device_id in (None, config.device_id)
                                else str(row.device_id),
                            ).values()
                        )
                already = store.already_present(answers)
                # Removed by retention after upload: counted once already, never again.
                already |= store.pruned_ids([str(a[0]) for a in answers if a[0] not in already])
                fresh_rows = [a for a in answers if a[0] not in already]
                for start in range(0, len(fresh_rows), 5000):
                    chunk = fresh_rows[start : start + 5000]
                    store.insert_answers(chunk)
                    if progress is not None:
                        progress(len(chunk))
                if fresh_rows:
                    self._judge_visits_between(ordered[0].created_at, ordered[-1].created_at)
        except sqlite3.OperationalError as error:
            raise StoreError(explain(store.path, error)) from None
        return ImportResult(imported=len(answers) - len(already), already_present=len(already))

    # -- checks -------------------------------------------------------------------------------------------

    def _checked(self, new: NewAnswer) -> tuple[Question, str, str]:
        """The answer's question, stored value and language; AnswerError for what the survey refuses."""
        question, value = check_answer(self.config.survey, new.question_id, new.value)
        return question, value, self._language(new.language)

    def _language(self, language: str | None) -> str:
        languages = self.config.survey.languages
        if language is None:
            return languages[0]
        if language not in languages:
            raise AnswerError(
                f"language {language!r} is not offered (survey.languages: {', '.join(languages)})"
            )
        return language

    def _answer(
        self, new: NewAnswer, session_id: str, question: Question, value: str, language: str, suspect: bool
    ) -> Answer:
        config = self.config
        zone = self._zone
        if zone is None or zone[0] is not config:
            self._zone = zone = (config, config.store.tz)
        return Answer(
            id=new.id or new_id(),
            session_id=session_id,
            question_id=question.id,
            value=value,
            created_at=new.created_at,
            local_day=local_day(new.created_at, zone[1]),
            language=language,
            survey_version=config.survey.version,
            suspect=suspect,
            kind=str(question.kind),
        )

    # -- the tap path, from the visits in memory ----------------------------------------------------------

    def _refresh(self, conn: sqlite3.Connection) -> None:
        """Read the last visits again unless those in memory are still the database's. Called inside the
        write transaction, so that nobody else can commit before ours."""
        version, config, seen = self.store.data_version(), self.config, self._seen
        if seen is not None and seen[0] == version and seen[1] == conn.total_changes and seen[2] is config:
            return
        rows = self.store.recent_visits(self._keep())
        self._recent = [_RecentVisit(sid, list(answers), suspect) for sid, answers, suspect in rows]
        # Visits read back may overlap (an import, `kiosk record`): the latest answer of any of them.
        self._latest = max((visit.answers[-1][2] for visit in self._recent), default=None)
        self._last_judged = False
        self._judge_all = True
        self._seen = (version, conn.total_changes, config)

    def _wrote(self, conn: sqlite3.Connection) -> None:
        """After our commit: it changed `total_changes` but not `data_version` (which counts other
        connections' commits, read before ours while we held the write lock)."""
        if self._seen is not None:
            self._seen = (self._seen[0], conn.total_changes, self._seen[2])

    def _keep(self) -> int:
        """How many visits to keep: the rule's longest run to tell, and those read before it."""
        return max(self.config.repeats.min_run, 2) + 2

    def _in_order(self, at: dt.datetime) -> bool:
        """Whether `at` comes after every answer in memory (the database path handles the others)."""
        return self._latest is None or at > self._latest

    def _start_visit(
        self, new: NewAnswer, session_id: str | None, question: Question, value: str, language: str
    ) -> Answer:
        # A new visit: the ones before it have ended, so the rule can judge them now.
        self._judge_ended()
        answer = self._answer(new, session_id or new_id(), question, value, language, suspect=False)
        self.store.insert_answer(answer)
        self._recent.append(_RecentVisit(answer.session_id, [(question.id, value, new.created_at)], False))
        del self._recent[: -self._keep()]  # older visits: the latest answer is this one, kept
        self._latest = new.created_at
        self._last_judged = False
        return answer

    def _continue_visit(self, new: NewAnswer, question: Question, value: str, language: str) -> Answer:
        visit = self._recent[-1]
        # The same check as import and head office: one answer per question, show_if (the answer itself
        # was checked before the transaction).
        check_in_visit(question, {q: v for q, v, _ in visit.answers})
        answer = self._answer(new, visit.id, question, value, language, suspect=visit.suspect)
        self.store.insert_answer(answer)
        visit.answers.append((question.id, value, new.created_at))
        self._latest = new.created_at
        self._last_judged = False
        return answer

    def _judge_ended(self) -> None:
        """Judge the visits in memory as ended: the run ending with the last one (the runs before it were
        judged when their own last visit ended), or every run after a fresh read."""
        rule = self.config.repeats
        if self._last_judged or not self._recent or not rule.enabled:
            self._last_judged = True
            return
        recent = self._recent
        if self._judge_all:
            self.store.flag_visits(repeated_visits([visit.frozen() for visit in recent], rule))
        elif len(recent) > 1 and follows(recent[-2].frozen(), recent[-1].frozen(), rule):
            # Most visits do not follow the one before: a run of one, nothing to flag, nothing to build.
            self.store.flag_visits(repeated_run_ending([visit.frozen() for visit in recent], rule))
        self._last_judged = True
        self._judge_all = False

    # -- the database path (answers out of order, older visits, imports) ----------------------------------

    def _record_from_database(self, new: NewAnswer, question: Question, value: str, language: str) -> Answer:
        session_id = new.session_id or new_id()
        visit = None if new.session_id is None else self.store.visit(session_id)
        if visit is not None:
            # The same check as import and head office: one answer per question, show_if.
            check_answer(self.config.survey, question.id, value, visit[0])
            suspect = visit[1]
        else:
            # A new visit: the ones before it have ended, so the rule can judge them now.
            self._judge_visits_before(new.created_at)
            suspect = False
        answer = self._answer(new, session_id, question, value, language, suspect=suspect)
        self.store.insert_answer(answer)
        return answer

    def _judge_visits_before(self, at: dt.datetime) -> None:
        """Flag the repeated presses among the visits that ended before `at`.

        Only the last few visits are read: a run long enough to be flagged already had its earlier visits
        flagged when they were judged, and flags are only ever added."""
        rule = self.config.repeats
        if rule.enabled:
            self.store.flag_visits(repeated_visits(self.store.visits_before(at, rule.min_run + 2), rule))

    def _judge_visits_between(self, first: dt.datetime, last: dt.datetime) -> None:
        """After an import: judge the visits around the imported time span (an hour either side, far more
        than any run of visits a few seconds apart), not the whole database."""
        rule = self.config.repeats
        if not rule.enabled:
            return
        margin = dt.timedelta(hours=1)
        self.store.flag_visits(
            repeated_visits(self.store.visits_between(first - margin, last + margin), rule)
        )
