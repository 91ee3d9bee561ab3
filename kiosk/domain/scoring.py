"""Daily scores from answer counts: NPS, CSAT, Happy Index, CES, means, distributions and reason counts.

Everything is computed from counts per (day, question, kind, value), so it does not depend on the order of
the answers and can be fed from a materialised daily table. Repeated presses (suspect answers) are left out
of every figure and counted as `excluded`. A question with no answers has null scores, never 0.

Each answer is counted on the kind it was given on (answers carry it): a question whose kind changed shows
each day on that day's scale. A day holding answers of several kinds is split: the question's figures are
those of the survey's current kind (or, without answers of it, of the kind with most answers), and each
other kind's figures are under `other_kinds`. A value that is not valid for its kind (stored before head
office checked answers) is left out of the figures and counted as `invalid`: a score never leaves its range
and a read never fails. Typed comments (`text` questions) are counted, never scored nor listed by value.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from kiosk.domain.days import days_between
from kiosk.domain.survey import Kind, Question, Store, Survey


@dataclass(frozen=True, slots=True)
class CountRow:
    """`count` answers of `value` to `question` on store-local `day`; suspect ones are kept apart."""

    day: dt.date
    question: str
    value: str
    suspect: bool
    count: int
    kind: str | None = None  # the kind the answers were given on; None: the question's current kind


def round1(value: Fraction) -> float:
    """Round half away from zero to one decimal, exactly (no binary floating-point surprises)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round1(Fraction(100 * part, whole))


def question_scores(question: Question, counts: Mapping[str, int], excluded: int = 0) -> dict[str, Any]:
    """The figures of one question on one day, as `kiosk scores --json` shows them. A typed comment
    (`text`) is not scored: only how many were given, never what they say."""
    result: dict[str, Any] = {"kind": str(question.kind)}
    if not question.scored:
        result.update(responses=sum(counts.values()), excluded=excluded)
        return result
    if question.scale is None:
        responses = sum(counts.values())
        result.update(responses=responses, excluded=excluded)
        ordered = {value: counts.get(value, 0) for value in question.values}
        # Values no longer offered (the options changed since) are still counted, never hidden.
        removed = sorted(value for value in counts if value not in ordered)
        ordered.update({value: counts[value] for value in removed})
        result["counts"] = ordered
        if removed:
            result["removed"] = removed
        return result

    low, high = question.scale
    numeric: dict[int, int] = {}
    invalid = 0
    for value, n in counts.items():
        number = _whole(value)
        if number is None or not low <= number <= high:
            invalid += n
        else:
            numeric[number] = numeric.get(number, 0) + n
    responses = sum(numeric.values())
    result.update(responses=responses, excluded=excluded)
    if invalid:
        result["invalid"] = invalid
    total = sum(v * n for v, n in numeric.items())
    mean = None if responses == 0 else Fraction(total, responses)
    result["mean"] = None if mean is None else round1(mean)

    def share(values: range) -> int:
        return sum(numeric.get(v, 0) for v in values)

    if question.kind in (Kind.SMILEY5, Kind.SMILEY4):
        result["csat"] = percent(share(range(high - 1, high + 1)), responses)
        result["happy_index"] = None if mean is None else round1((mean - low) * 100 / (high - low))
    elif question.kind is Kind.NPS:
        promoters, passives, detractors = share(range(9, 11)), share(range(7, 9)), share(range(0, 7))
        result["nps"] = (
            None if responses == 0 else round1(Fraction(100 * (promoters - detractors), responses))
        )
        result.update(promoters=promoters, passives=passives, detractors=detractors)
    elif question.kind is Kind.CES7:
        result["ces_easy"] = percent(share(range(5, 8)), responses)
    result["distribution"] = {str(v): numeric.get(v, 0) for v in range(low, high + 1)}
    return result


def _whole(value: str) -> int | None:
    text = value.strip()
    if not text or not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 4:
        return None
    return int(text)


def _as_kind(question: Question, kind: str) -> Question:
    """The question as it was asked with `kind` (its options kept for a choice question)."""
    if kind == str(question.kind):
        return question
    return Question(id=question.id, kind=Kind(kind), text=question.text, options=question.options)


def _day_question(
    question: Question, counted: Mapping[str, dict[str, int]], excluded: Mapping[str, int]
) -> dict[str, Any]:
    """One question on one day; `counted`/`excluded` by kind."""
    current = str(question.kind)
    kinds = sorted(
        set(counted) | set(excluded), key=lambda k: (k != current, -sum(counted.get(k, {}).values()), k)
    )
    if not kinds:
        return question_scores(question, {}, 0)
    first, *others = kinds
    result = question_scores(_as_kind(question, first), counted.get(first, {}), excluded.get(first, 0))
    if others:
        result["other_kinds"] = {
            kind: question_scores(_as_kind(question, kind), counted.get(kind, {}), excluded.get(kind, 0))
            for kind in others
        }
    return result


def daily_scores(
    store: Store, survey: Survey, rows: Iterable[CountRow], start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Scores for every day from start to end (both included), every question of the survey on each, in
    the shape of sync.protocol.ScoresReport (a plain dict here: callers add keys such as `final_through`).

    Counts for questions the survey no longer asks are ignored.
    """
    kinds = {str(k) for k in Kind}
    current = {q.id: str(q.kind) for q in survey.questions}
    counted: dict[tuple[dt.date, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    excluded: dict[tuple[dt.date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.question not in current:
            continue
        kind = row.kind if row.kind in kinds else current[row.question]
        key = (row.day, row.question)
        if row.suspect:
            excluded[key][kind] += row.count
        else:
            values = counted[key][kind]
            values[row.value] = values.get(row.value, 0) + row.count
    days: list[dict[str, Any]] = [
        {
            "day": day.isoformat(),
            "questions": {
                q.id: _day_question(q, counted.get((day, q.id), {}), excluded.get((day, q.id), {}))
                for q in survey.questions
            },
        }
        for day in days_between(start, end)
    ]
    return {
        "store": store.id,
        "store_name": store.name,
        "timezone": store.timezone,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": days,
    }
