"""Daily scores from answer counts: NPS, CSAT, Happy Index, CES, means, distributions and reason counts.

Everything is computed from counts per (day, question, value), so it does not depend on the order of the
answers and can be fed from a materialised daily table. Repeated presses (suspect answers) are left out of
every figure and counted as `excluded`. A question with no answers has null scores, never 0.
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


def round1(value: Fraction) -> float:
    """Round half away from zero to one decimal, exactly (no binary floating-point surprises)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round1(Fraction(100 * part, whole))


def question_scores(question: Question, counts: Mapping[str, int], excluded: int = 0) -> dict[str, Any]:
    """The figures of one question on one day, as `kiosk scores --json` shows them."""
    responses = sum(counts.values())
    result: dict[str, Any] = {"kind": str(question.kind), "responses": responses, "excluded": excluded}
    if question.scale is None:
        ordered = {value: counts.get(value, 0) for value in question.values}
        # Values no longer offered (the options changed since) are still counted, never hidden.
        ordered.update({value: n for value, n in sorted(counts.items()) if value not in ordered})
        result["counts"] = ordered
        return result

    low, high = question.scale
    numeric = {int(value): n for value, n in counts.items()}
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


def daily_scores(
    store: Store, survey: Survey, rows: Iterable[CountRow], start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Scores for every day from start to end (both included), every question of the survey on each.

    Counts for questions the survey no longer asks are ignored.
    """
    counted: dict[tuple[dt.date, str], dict[str, int]] = defaultdict(dict)
    excluded: dict[tuple[dt.date, str], int] = defaultdict(int)
    for row in rows:
        key = (row.day, row.question)
        if row.suspect:
            excluded[key] += row.count
        else:
            counted[key][row.value] = counted[key].get(row.value, 0) + row.count
    days = [
        {
            "day": day.isoformat(),
            "questions": {
                q.id: question_scores(q, counted.get((day, q.id), {}), excluded.get((day, q.id), 0))
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
