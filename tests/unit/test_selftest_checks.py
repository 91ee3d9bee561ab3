"""The pure checks of `kiosk selftest`: exactly one stored answer for the tap, counted in today's scores,
and a blank picture told apart from a drawn one."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.selftest import SelftestError, check_recorded, pixel_spread

ROW = {"id": "a1", "question_id": "satisfaction", "value": "1"}


def report(responses: int | None, days: int = 1) -> dict[str, Any]:
    questions = {} if responses is None else {"satisfaction": {"responses": responses}}
    return {"days": [{"day": "2026-11-24", "questions": questions}] * days}


def test_one_stored_and_scored_answer_passes() -> None:
    assert check_recorded([ROW], report(1), "satisfaction", "1") == ("a1", 1)


@pytest.mark.parametrize(
    ("rows", "scores", "reason"),
    [
        ([], report(1), "stored 0 answers, not 1"),
        ([ROW, {**ROW, "id": "a2"}], report(2), "stored 2 answers, not 1"),
        ([{**ROW, "value": "2"}], report(1), "stored 0 answers, not 1"),
        ([ROW], report(0), "count 0 responses to 'satisfaction', not 1"),
        ([ROW], report(None), "have no question 'satisfaction'"),
        ([ROW], report(1, days=0), "hold 0 days, not 1"),
    ],
)
def test_a_missing_answer_or_score_is_a_one_line_reason(
    rows: list[dict[str, Any]], scores: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SelftestError, match=reason) as caught:
        check_recorded(rows, scores, "satisfaction", "1")
    assert "\n" not in str(caught.value)


def test_pixel_spread_tells_blank_from_drawn() -> None:
    assert pixel_spread(bytes([240, 240, 240]) * 10_000) == 0
    drawn = bytes((i * 37) % 256 for i in range(30_000))
    assert pixel_spread(drawn) > 50
    assert pixel_spread(b"") == 0
