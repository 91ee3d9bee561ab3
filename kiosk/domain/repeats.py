"""The repeated-press rule: which visits are a finger pressing the same spot again and again, not shoppers.

A press storm (a child, a bag leaning on the screen) answers every screen it reaches, from the same spot, so
its visits look alike from start to end and follow each other as soon as "thank you" has gone. The rule
therefore looks at whole visits, once they have ended: a run of visits that answer alike, each starting
within `window_seconds` of the previous one's last answer, is flagged when it has `min_run` visits, or
already at two when every answer of the run came within `quick_seconds` of the one before it (the rhythm
of a finger, not of someone reading). A flagged run is flagged whole, its first visit included.

The figures behind the defaults come from the traffic simulator (`python tools/traffic_sim.py`, table in
docs/repeated-presses.md). Flags are only ever added, never removed, so a visit's flag is kept beside the
answers (which never change) and the counts follow it.

`start_rule_flags` is the rule before this release (decided when a visit started, from its first answer
only), kept for the simulator's comparison and to explain answers stored with it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.domain.survey import RepeatRule


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit's answers in the order they were given: (question, value, when)."""

    id: str
    answers: tuple[tuple[str, str, dt.datetime], ...]

    @property
    def started_at(self) -> dt.datetime:
        return self.answers[0][2]

    @property
    def ended_at(self) -> dt.datetime:
        return self.answers[-1][2]


def alike(a: Visit, b: Visit) -> bool:
    """Same first answer, and the same answer to every question both visits answered."""
    if not a.answers or not b.answers or a.answers[0][:2] != b.answers[0][:2]:
        return False
    given = {question: value for question, value, _ in a.answers}
    return all(given.get(question, value) == value for question, value, _ in b.answers)


def follows(before: Visit, after: Visit, rule: RepeatRule) -> bool:
    gap = (after.started_at - before.ended_at).total_seconds()
    return 0 <= gap <= rule.window_seconds and alike(before, after)


def quick(visit: Visit, rule: RepeatRule) -> bool:
    """Every answer within `quick_seconds` of the one before (a visit of one answer has no rhythm: False)."""
    if rule.quick_seconds <= 0 or len(visit.answers) < 2:
        return False
    times = [at for _, _, at in visit.answers]
    return all(0 <= (b - a).total_seconds() <= rule.quick_seconds for a, b in itertools.pairwise(times))


def runs(visits: Sequence[Visit], rule: RepeatRule) -> list[list[Visit]]:
    """The visits (in time order) cut into runs of visits that each follow the one before."""
    result: list[list[Visit]] = []
    for visit in visits:
        if result and follows(result[-1][-1], visit, rule):
            result[-1].append(visit)
        else:
            result.append([visit])
    return result


def run_is_repeated(run: Sequence[Visit], rule: RepeatRule) -> bool:
    if not rule.enabled or len(run) < 2:
        return False
    if len(run) >= rule.min_run:
        return True
    # A short run: only the rhythm of every visit in it can tell a finger from two shoppers.
    return all(quick(visit, rule) or len(visit.answers) == 1 for visit in run) and any(
        quick(visit, rule) for visit in run
    )


def repeated_visits(visits: Sequence[Visit], rule: RepeatRule) -> set[str]:
    """The ids of the visits (ended ones, in time order) that the rule flags as repeated presses."""
    flagged: set[str] = set()
    for run in runs(visits, rule):
        if run_is_repeated(run, rule):
            flagged.update(visit.id for visit in run)
    return flagged


def repeated_run_ending(visits: Sequence[Visit], rule: RepeatRule) -> set[str]:
    """The ids the rule flags in the run that ends with the last of `visits` (ended ones, in time order).

    When every earlier run was judged as its own last visit ended, this adds what `repeated_visits` over
    all of them would: only the run the last visit joined can have changed.
    """
    if not visits:
        return set()
    run = [visits[-1]]
    for before in reversed(visits[:-1]):
        if not follows(before, run[0], rule):
            break
        run.insert(0, before)
    return {visit.id for visit in run} if run_is_repeated(run, rule) else set()


# -- the rule before this release ---------------------------------------------------------------------------


def start_rule_flags(visits: Sequence[Visit], window_seconds: float = 10.0, min_run: int = 2) -> list[bool]:
    """The former rule: a visit whose first answer repeats the previous visit's within `window_seconds` of
    that visit's last answer continues a run; from the `min_run`-th visit of a run on, it is flagged (decided
    when the visit starts, the run's first visit never)."""
    flags: list[bool] = []
    length = 0
    for index, visit in enumerate(visits):
        if index and window_seconds > 0:
            before = visits[index - 1]
            gap = (visit.started_at - before.ended_at).total_seconds()
            same = before.answers[0][:2] == visit.answers[0][:2]
            length = length + 1 if same and 0 <= gap <= window_seconds else 1
        else:
            length = 1
        flags.append(window_seconds > 0 and length >= min_run)
    return flags
