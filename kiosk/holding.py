"""The tap path when the database cannot take an answer (disk full, read-only storage, a lock held too long):
the answer is held in memory, in order, and written as soon as the database takes answers again.

A held answer is not durable: `HoldingRecorder.record` returns the stored `Answer` only when the answer is
committed, and None when it is only held, so nothing above it can count a held answer as stored. The shopper
is still thanked; the manager screen says how many answers are waiting and why. Held answers are retried
before every new tap (so they keep their order) and on a timer (`retry`). Each carries its id from the first
attempt, so a retry never stores one twice.

The memory is bounded (10,000 answers by default, a full day of a busy store). At the bound the oldest held
answers are kept and a new tap is refused: it is counted and logged, never silently dropped, and the
manager screen shows the count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.days import format_utc
from kiosk.domain.survey import AnswerError
from kiosk.recording import AnswerRecorder, new_id
from kiosk.storage import Answer, NewAnswer, ResponseStore, StoreError

log = logging.getLogger("kiosk")

DEFAULT_LIMIT = 10_000
RETRY_SECONDS = 5.0
# Held answers written per try: each is one commit (an fsync), and a try runs on the UI thread, so a
# backlog drains a few dozen at a time (every tick while it makes progress) instead of freezing the screen
# for the whole backlog (10,000 commits are seconds here, far more on an SD card).
FLUSH_BATCH = 20


@dataclass(frozen=True, slots=True)
class HoldingState:
    """What the manager is told about answers not yet on disk."""

    held: int = 0
    refused: int = 0  # taps not kept at all: the memory bound was reached
    rejected: int = 0  # held answers the database refused when they were written (a changed survey)
    problem: str | None = None  # why the database does not take answers, one line


class HoldingRecorder:
    """`AnswerRecorder.record` with a bounded in-memory queue in front for when the database cannot write."""

    def __init__(
        self,
        recorder: AnswerRecorder,
        *,
        limit: int = DEFAULT_LIMIT,
        retry_seconds: float = RETRY_SECONDS,
        batch: int = FLUSH_BATCH,
    ) -> None:
        self.recorder = recorder
        self.limit = limit
        self.retry_seconds = retry_seconds
        self.batch = batch
        self._held: deque[NewAnswer] = deque()
        self._refused = 0
        self._rejected = 0
        self._problem: str | None = None
        self._next_retry = 0.0

    @property
    def store(self) -> ResponseStore:
        return self.recorder.store

    @property
    def state(self) -> HoldingState:
        return HoldingState(len(self._held), self._refused, self._rejected, self._problem)

    def record(self, new: NewAnswer) -> Answer | None:
        """Store the answer durably and return it; None when it could only be held (or, at the bound,
        not kept). AnswerError for an answer the survey refuses, whatever the disk does."""
        # Fixed now, so that every retry writes the same answer and a retry after a success is recognised.
        new = new if new.id is not None else dataclasses.replace(new, id=new_id())
        if self._held and not self.flush(self.batch):
            # Behind older held answers (the database refuses, or the backlog is still draining): in line.
            self.recorder.check(new)
            self._hold(new)
            return None
        try:
            answer = self.recorder.record(new)
        except (StoreError, sqlite3.Error) as error:
            if isinstance(error, sqlite3.IntegrityError):
                raise
            self._problem = _one_line(error)
            log.error("cannot store an answer, holding it in memory: %s", self._problem)
            self._hold(new)
            return None
        self._problem = None
        return answer

    def retry(self, now: float) -> int:
        """Write a batch of held answers when it is time (the app calls this on its tick, with monotonic
        seconds): at once while the backlog drains, `retry_seconds` after a failed try. The number still held."""
        if self._held and now >= self._next_retry:
            before = len(self._held)
            self.flush(self.batch)
            progressed = len(self._held) < before
            self._next_retry = now if progressed else now + self.retry_seconds
        return len(self._held)

    def flush(self, limit: int | None = None) -> bool:
        """Write held answers, oldest first, until one fails (or `limit` are written); True when none is left."""
        if not self._held:
            return True
        written = 0
        while self._held:
            if limit is not None and written >= limit:
                return False
            written += 1
            new = self._held[0]
            try:
                try:
                    self.recorder.record(new)
                except AnswerError as error:
                    assert new.id is not None
                    if not self.store.has_answer(new.id):
                        # Checked when it was held, refused now: the survey changed meanwhile. Logged whole.
                        self._rejected += 1
                        log.error("a held answer was refused when written, not stored: %s (%s)", error, new)
            except sqlite3.IntegrityError:
                pass  # its id is already stored: an earlier attempt did commit
            except (StoreError, sqlite3.Error) as error:
                self._problem = _one_line(error)
                return False
            self._held.popleft()
        self._problem = None
        log.info("every held answer is stored")
        return True

    def save_held(self, directories: Sequence[Path], now: dt.datetime) -> Path | None:
        """Write the held answers as a `kiosk import` file (JSON Lines, with their ids, so importing it
        twice adds nothing) in the first directory that takes it; None when none does. For a stop while
        the database still refuses: the answers then survive the process."""
        lines = [
            json.dumps(
                {
                    "created_at": format_utc(new.created_at),
                    "question": new.question_id,
                    "value": new.value if isinstance(new.value, int | str) else str(new.value),
                    "session": new.session_id,
                    "id": new.id,
                    "language": new.language,
                },
                ensure_ascii=False,
            )
            for new in self._held
        ]
        name = f"kiosk-held-answers-{now:%Y%m%dT%H%M%S.%fZ}.jsonl"
        for directory in directories:
            target = directory / name
            try:
                handle = target.open("x", encoding="utf-8")
            except OSError as error:
                # Includes a file of the same name: an earlier save, never to be touched.
                log.error("cannot save the held answers in %s: %s", directory, error.strerror)
                continue
            try:
                with handle:
                    handle.write("".join(f"{line}\n" for line in lines))
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as error:
                log.error("cannot save the held answers in %s: %s", directory, error.strerror)
                with contextlib.suppress(OSError):
                    target.unlink()  # the half-written file this call created
                continue
            return target
        return None

    def _hold(self, new: NewAnswer) -> None:
        if len(self._held) >= self.limit:
            self._refused += 1
            log.error(
                "%d answers already held in memory (the limit): this tap is not kept (%d so far)",
                len(self._held),
                self._refused,
            )
            return
        self._held.append(new)


def _one_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
