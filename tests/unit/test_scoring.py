"""Scores from counts: the standard definitions, nulls for empty days, rounding, and order invariance."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.scoring import CountRow, daily_scores, question_scores
from kiosk.domain.survey import Kind, Option, Question, Store, Survey

SMILEY5 = Question("satisfaction", Kind.SMILEY5, {"fr": "?"})
SMILEY4 = Question("mood", Kind.SMILEY4, {"fr": "?"})
NPS = Question("recommend", Kind.NPS, {"fr": "?"})
CES = Question("effort", Kind.CES7, {"fr": "?"})
REASON = Question(
    "reason", Kind.CHOICE, {"fr": "?"}, options=(Option("waiting", {"fr": "a"}), Option("price", {"fr": "b"}))
)
SURVEY = Survey(questions=(SMILEY5, REASON, NPS, SMILEY4, CES))
STORE = Store("paris-01", "Paris", "Europe/Paris")


def counts(values: list[int]) -> dict[str, int]:
    result: dict[str, int] = {}
    for v in values:
        result[str(v)] = result.get(str(v), 0) + 1
    return result


def test_nps_is_promoters_minus_detractors_percent() -> None:
    # 12 promoters, 12 passives, 6 detractors out of 30: 40% - 20% = +20
    answers = [10] * 7 + [9] * 5 + [8] * 6 + [7] * 6 + [6] * 3 + [0] * 3
    scores = question_scores(NPS, counts(answers))
    assert scores["nps"] == 20.0
    assert (scores["promoters"], scores["passives"], scores["detractors"]) == (12, 12, 6)
    assert scores["responses"] == 30
    assert scores["distribution"]["0"] == 3 and scores["distribution"]["10"] == 7


def test_nps_extremes() -> None:
    assert question_scores(NPS, counts([0, 6, 3]))["nps"] == -100.0
    assert question_scores(NPS, counts([9, 10]))["nps"] == 100.0
    assert question_scores(NPS, counts([7, 8]))["nps"] == 0.0


def test_csat_counts_top_two_faces() -> None:
    five = question_scores(SMILEY5, counts([5, 4, 3, 2]))
    assert five["csat"] == 50.0
    four = question_scores(SMILEY4, counts([4, 3, 2, 1]))
    assert four["csat"] == 50.0  # on four faces the top two are 3 and 4


def test_happy_index_maps_worst_face_to_0_and_best_to_100() -> None:
    assert question_scores(SMILEY5, counts([1, 1]))["happy_index"] == 0.0
    assert question_scores(SMILEY5, counts([5]))["happy_index"] == 100.0
    assert question_scores(SMILEY5, counts([3]))["happy_index"] == 50.0
    assert question_scores(SMILEY4, counts([2]))["happy_index"] == 33.3
    assert question_scores(SMILEY5, counts([4, 5, 3]))["happy_index"] == 75.0


def test_ces_mean_and_easy_share() -> None:
    scores = question_scores(CES, counts([7, 5, 4, 1]))
    assert scores["mean"] == 4.3  # 17 / 4 = 4.25, rounded half up
    assert scores["ces_easy"] == 50.0


def test_rounding_is_half_up_on_exact_values() -> None:
    # 1 detractor in 8: -12.5 exactly; 2 of 3 promoters: 66.666.. -> 66.7
    assert question_scores(NPS, counts([0, 7, 7, 7, 7, 7, 7, 7]))["nps"] == -12.5
    assert question_scores(NPS, counts([9, 9, 7]))["nps"] == 66.7
    assert question_scores(SMILEY5, counts([5, 4, 4, 4, 4, 4, 4, 4]))["mean"] == 4.1  # 4.125


def test_no_answers_means_null_scores_not_zero() -> None:
    for question in (SMILEY5, SMILEY4, NPS, CES):
        scores = question_scores(question, {})
        assert scores["responses"] == 0
        assert scores["mean"] is None
        nulls = {k: v for k, v in scores.items() if k in ("nps", "csat", "happy_index", "ces_easy")}
        assert nulls and all(v is None for v in nulls.values())


def test_reason_counts_every_option_and_keeps_retired_ones() -> None:
    scores = question_scores(REASON, {"price": 2, "parking": 1})
    assert scores["counts"] == {"waiting": 0, "price": 2, "parking": 1}
    assert scores["responses"] == 3


def test_daily_scores_lists_every_day_and_leaves_suspect_answers_out() -> None:
    day = dt.date(2026, 11, 1)
    rows = [
        CountRow(day, "satisfaction", "5", False, 3),
        CountRow(day, "satisfaction", "5", True, 7),
        CountRow(day, "satisfaction", "1", False, 1),
        CountRow(day, "retired-question", "3", False, 4),
    ]
    report = daily_scores(STORE, SURVEY, rows, day, day + dt.timedelta(days=2))
    assert [d["day"] for d in report["days"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    sat = report["days"][0]["questions"]["satisfaction"]
    assert (sat["responses"], sat["excluded"], sat["csat"]) == (4, 7, 75.0)
    assert report["days"][1]["questions"]["satisfaction"]["csat"] is None
    assert "retired-question" not in report["days"][0]["questions"]
    assert (report["store"], report["timezone"], report["from"], report["to"]) == (
        "paris-01",
        "Europe/Paris",
        "2026-11-01",
        "2026-11-03",
    )


nps_values = st.lists(st.integers(0, 10), max_size=200)
smiley_values = st.lists(st.integers(1, 5), max_size=200)


@given(nps_values)
def test_nps_is_always_between_minus_100_and_100(values: list[int]) -> None:
    nps = question_scores(NPS, counts(values))["nps"]
    assert (nps is None) == (not values)
    if nps is not None:
        assert -100.0 <= nps <= 100.0


@given(smiley_values)
def test_csat_and_happy_index_are_percentages(values: list[int]) -> None:
    scores = question_scores(SMILEY5, counts(values))
    for key in ("csat", "happy_index"):
        assert (scores[key] is None) == (not values)
        if values:
            assert 0.0 <= scores[key] <= 100.0


@given(st.lists(st.tuples(st.integers(0, 10), st.booleans()), max_size=100), st.randoms())
def test_scores_do_not_depend_on_the_order_of_answers(answers: list[tuple[int, bool]], rnd: object) -> None:
    day = dt.date(2026, 3, 29)
    rows = [CountRow(day, "recommend", str(v), s, 1) for v, s in answers]
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert daily_scores(STORE, SURVEY, rows, day, day) == daily_scores(STORE, SURVEY, shuffled, day, day)


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_matches_its_definition(values: list[int]) -> None:
    scores = question_scores(NPS, counts(values))
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    assert abs(scores["nps"] - 100 * (promoters - detractors) / len(values)) <= 0.05 + 1e-9
    assert scores["promoters"] + scores["passives"] + scores["detractors"] == len(values)
