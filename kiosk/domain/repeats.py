"""The repeated-press rule: decides, when a visit starts, whether it is a child pressing the same face again.

The decision is taken once, from the visits before it, so an answer never changes after it is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.domain.survey import RepeatRule


@dataclass(frozen=True, slots=True)
class VisitMark:
    """What the rule needs of a visit: its first answer, when it started and when its last answer came."""

    first_question: str
    first_value: str
    started_at: dt.datetime
    last_at: dt.datetime


def run_length(new: VisitMark, previous: Sequence[VisitMark], rule: RepeatRule) -> int:
    """How many visits in a row, ending with `new`, repeat the same first answer within the window.

    `previous` holds the visits before `new`, most recent first.
    """
    length = 1
    current = new
    window = dt.timedelta(seconds=rule.window_seconds)
    for before in previous:
        gap = current.started_at - before.last_at
        same = (before.first_question, before.first_value) == (current.first_question, current.first_value)
        if not same or gap < dt.timedelta(0) or gap > window:
            break
        length += 1
        current = before
    return length


def is_suspect(new: VisitMark, previous: Sequence[VisitMark], rule: RepeatRule) -> bool:
    return rule.enabled and run_length(new, previous[: rule.min_run - 1], rule) >= rule.min_run


def flag_visits(visits: Sequence[VisitMark], history: Sequence[VisitMark], rule: RepeatRule) -> list[bool]:
    """Flag a time-ordered sequence of visits (an import), after `history` (most recent first)."""
    flags: list[bool] = []
    previous = list(history)
    for visit in visits:
        flags.append(is_suspect(visit, previous, rule))
        previous.insert(0, visit)
        del previous[rule.min_run :]
    return flags
