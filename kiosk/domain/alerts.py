"""Alert rules as pure functions: which answers fall in a window, whether a window fires, what happens to an
open alert.

No IO and no clock: the caller hands in the answers (repeated presses already marked) and the instant the
window ends. A window is the half-open span (end - window, end] of real time, so an answer exactly
`window` before `end` is out and one at `end` is in; across a change to or from summer time a 15-minute
window is still 15 minutes. Shares are compared exactly (fractions), never in floating point.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

from kiosk.domain.survey import Kind, Question


@dataclass(frozen=True, slots=True)
class TimedAnswer:
    """One answer to the rule's question: when it was given, its stored value, and whether it is a repeated
    press (left out of every rule)."""

    at: dt.datetime
    value: str
    suspect: bool = False
    session: str = ""


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """What a window holds: `matching` of `total` counted answers are in the rule's faces."""

    start: dt.datetime
    end: dt.datetime
    matching: int
    total: int

    @property
    def share(self) -> Fraction | None:
        return None if self.total == 0 else Fraction(self.matching, self.total)


def bottom_values(question: Question) -> frozenset[str]:
    """The unhappy answers of a question: both red faces (smileys), detractors 0-6 (NPS), 1-3 (CES)."""
    match question.kind:
        case Kind.SMILEY5 | Kind.SMILEY4:
            return frozenset({"1", "2"})
        case Kind.NPS:
            return frozenset(str(v) for v in range(7))
        case Kind.CES7:
            return frozenset({"1", "2", "3"})
    return frozenset()


def top_values(question: Question) -> frozenset[str]:
    """The happy answers: both green faces (smileys), promoters 9-10 (NPS), 5-7 (CES)."""
    match question.kind:
        case Kind.SMILEY5:
            return frozenset({"4", "5"})
        case Kind.SMILEY4:
            return frozenset({"3", "4"})
        case Kind.NPS:
            return frozenset({"9", "10"})
        case Kind.CES7:
            return frozenset({"5", "6", "7"})
    return frozenset()


def in_window(at: dt.datetime, end: dt.datetime, window: dt.timedelta) -> bool:
    return end - window < at <= end


def window_figures(
    answers: Iterable[TimedAnswer], end: dt.datetime, window: dt.timedelta, faces: frozenset[str]
) -> WindowFigures:
    """Count the answers of (end - window, end] that are not repeated presses, and those among them whose
    value is one of `faces`."""
    matching = total = 0
    for answer in answers:
        if answer.suspect or not in_window(answer.at, end, window):
            continue
        total += 1
        matching += answer.value in faces
    return WindowFigures(end - window, end, matching, total)


class Timeline:
    """The counted answers of one question in time order, for many window evaluations: each one finds its
    window by bisection instead of reading every answer (evaluation runs after every upload)."""

    def __init__(self, answers: Iterable[TimedAnswer]) -> None:
        self.answers = sorted((a for a in answers if not a.suspect), key=lambda a: a.at)
        self.times = [a.at for a in self.answers]
        self._running: dict[frozenset[str], list[int]] = {}

    def has_answer_at(self, at: dt.datetime) -> bool:
        index = bisect_right(self.times, at)
        return index > 0 and self.times[index - 1] == at

    def window(self, end: dt.datetime, window: dt.timedelta) -> list[TimedAnswer]:
        return self.answers[bisect_right(self.times, end - window) : bisect_right(self.times, end)]

    def figures(self, end: dt.datetime, window: dt.timedelta, faces: frozenset[str]) -> WindowFigures:
        """The same as `window_figures` over these answers, from running counts (no loop over the window)."""
        low, high = bisect_right(self.times, end - window), bisect_right(self.times, end)
        running = self._running.get(faces)
        if running is None:
            running = self._running[faces] = list(
                accumulate((a.value in faces for a in self.answers), initial=0)
            )
        return WindowFigures(end - window, end, running[high] - running[low], high - low)


def share_fires(figures: WindowFigures, share: Fraction, min_answers: int) -> bool:
    """At least `min_answers` counted answers, and at least `share` of them matching."""
    # In integers: matching / total >= numerator / denominator.
    return (
        figures.total >= max(min_answers, 1)
        and figures.matching * share.denominator >= share.numerator * figures.total
    )


def volume_fires(figures: WindowFigures, fewer_than: int | None, more_than: int | None) -> bool:
    """Fewer than `fewer_than` counted answers (a kiosk broken or ignored), or more than `more_than` (a storm)."""
    low = fewer_than is not None and figures.total < fewer_than
    high = more_than is not None and figures.total > more_than
    return low or high


@dataclass(frozen=True, slots=True)
class Episode:
    """A span during which a rule fired: from the first window end that fired to the last one."""

    first: WindowFigures
    last: WindowFigures
    peak: WindowFigures


def group_firings(firings: Sequence[WindowFigures], gap: dt.timedelta) -> list[Episode]:
    """Group the windows that fired (in time order) into episodes: firings less than `gap` apart are one
    episode, as one open alert would be. The peak is the highest share, then the most matching answers."""
    episodes: list[Episode] = []
    for figures in sorted(firings, key=lambda f: f.end):
        if episodes and figures.end - episodes[-1].last.end <= gap:
            current = episodes[-1]
            better = (figures.share or 0, figures.matching) > (current.peak.share or 0, current.peak.matching)
            episodes[-1] = Episode(current.first, figures, figures if better else current.peak)
        else:
            episodes.append(Episode(figures, figures, figures))
    return episodes


def share_episodes(
    answers: Sequence[TimedAnswer],
    window: dt.timedelta,
    faces: frozenset[str],
    share: Fraction,
    min_answers: int,
    gap: dt.timedelta | None = None,
) -> list[Episode]:
    """When a share rule would have fired over a history, evaluated at each counted answer's time (the only
    instants at which a window can start to fire); firings less than `gap` (default: the window) apart are
    one episode."""
    counted = sorted((a for a in answers if not a.suspect), key=lambda a: a.at)
    firings = [
        figures
        for figures in (window_figures(counted, answer.at, window, faces) for answer in counted)
        if share_fires(figures, share, min_answers)
    ]
    return group_firings(firings, window if gap is None else gap)


# -- the life of an alert ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """What the lifecycle needs of an alert that is not closed."""

    opened_at: dt.datetime
    cleared_since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Step:
    """What to do after one evaluation: open a new alert, mark or unmark it cleared, close it, or nothing."""

    action: str  # "open", "keep", "cleared", "refired", "close", "none"
    cleared_since: dt.datetime | None = None


def next_step(current: OpenAlert | None, fires: bool, now: dt.datetime, clear_after: dt.timedelta) -> Step:
    """One open alert per rule and store: a firing rule opens one only when none is open; an open alert
    closes once its condition has stayed clear for `clear_after` (a dip of a few minutes keeps it open)."""
    if current is None:
        return Step("open") if fires else Step("none")
    if fires:
        return Step("refired") if current.cleared_since is not None else Step("keep")
    if current.cleared_since is None:
        return Step("close") if clear_after <= dt.timedelta(0) else Step("cleared", now)
    if now - current.cleared_since >= clear_after:
        return Step("close", current.cleared_since)
    return Step("keep", current.cleared_since)


def is_late(window_end: dt.datetime, now: dt.datetime, late_after: dt.timedelta) -> bool:
    """An alert about a window that ended long ago (a kiosk that was offline) is recorded, not sent."""
    return now - window_end > late_after
