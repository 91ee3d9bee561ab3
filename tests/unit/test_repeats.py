"""The repeated-press rule: a finger pressing one spot is flagged, shoppers who answer alike are not."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.repeats import Visit, repeated_run_ending, repeated_visits, start_rule_flags
from kiosk.domain.survey import RepeatRule

T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def visit(name: str, start: float, *answers: tuple[str, str, float]) -> Visit:
    """A visit starting `start` s after T0; answers are (question, value, seconds after the visit start)."""
    return Visit(name, tuple((q, v, T0 + dt.timedelta(seconds=start + after)) for q, v, after in answers))


def full(name: str, start: float, face: str = "5", nps: str = "9", pace: float = 3) -> Visit:
    return visit(name, start, ("satisfaction", face, 0), ("recommend", nps, pace))


def test_two_shoppers_answering_alike_in_quick_succession_are_both_counted() -> None:
    # The case: a 5 then a 9, the second shopper starting 8 s after the first's last tap.
    visits = [full("a", 0), full("b", 3 + 8)]
    assert repeated_visits(visits, RepeatRule()) == set()
    # Even 4 s apart and identical: two visits are not evidence enough.
    assert repeated_visits([full("a", 0), full("b", 7)], RepeatRule()) == set()
    # The rule before this release flagged the second one.
    assert start_rule_flags(visits) == [False, True]


def test_a_press_storm_is_flagged_whole_its_first_visit_included() -> None:
    # One finger on the first face every 2 s: face 1, the reason under it, 0-10 button 0, "thank you" (3 s)
    # swallows a press, then again.
    storm = [
        visit(
            f"s{i}",
            i * 10,
            ("satisfaction", "1", 0),
            ("reason", "waiting", 2),
            ("recommend", "0", 4),
        )
        for i in range(3)
    ]
    assert repeated_visits(storm, RepeatRule()) == {"s0", "s1", "s2"}


def test_a_run_is_broken_by_a_different_answer_or_a_long_gap() -> None:
    rule = RepeatRule()
    different = [full("a", 0), full("b", 6), full("c", 12, nps="10"), full("d", 18)]
    assert repeated_visits(different, rule) == set()
    slow = [full("a", 0), full("b", 6), full("c", 3 + 6 + 3 + 10)]  # 10 s after b's last answer
    assert repeated_visits(slow, rule) == set()
    assert repeated_visits([full("a", 0), full("b", 6), full("c", 12)], rule) == {"a", "b", "c"}


def test_a_visit_cut_short_still_matches_the_storm_it_ends() -> None:
    visits = [full("a", 0, "1", "0"), full("b", 6, "1", "0"), visit("c", 12, ("satisfaction", "1", 0))]
    assert repeated_visits(visits, RepeatRule()) == {"a", "b", "c"}


def test_gap_zero_turns_the_rule_off() -> None:
    visits = [full(str(i), i * 6) for i in range(6)]
    assert repeated_visits(visits, RepeatRule(window_seconds=0)) == set()


def test_the_optional_rhythm_rule_flags_a_fast_pair() -> None:
    rule = RepeatRule(window_seconds=6, min_run=3, quick_seconds=2.5)
    assert repeated_visits([full("a", 0, pace=2), full("b", 5, pace=2)], rule) == {"a", "b"}
    assert repeated_visits([full("a", 0, pace=3), full("b", 6, pace=3)], rule) == set()


visits_strategy = st.lists(
    st.tuples(st.integers(1, 12), st.sampled_from(["4", "5"]), st.sampled_from(["9", "10"])),
    min_size=1,
    max_size=12,
)


def build(spec: list[tuple[int, str, str]]) -> list[Visit]:
    visits, start = [], 0.0
    for index, (gap, face, nps) in enumerate(spec):
        start += gap + 3
        visits.append(full(str(index), start, face, nps))
    return visits


@given(spec=visits_strategy, extra=visits_strategy)
def test_flags_are_only_ever_added_as_visits_follow(
    spec: list[tuple[int, str, str]], extra: list[tuple[int, str, str]]
) -> None:
    visits = build(spec + extra)
    before = repeated_visits(visits[: len(spec)], RepeatRule())
    assert before <= repeated_visits(visits, RepeatRule())


@given(spec=visits_strategy)
def test_a_flagged_visit_is_always_in_a_run_of_at_least_min_visits(spec: list[tuple[int, str, str]]) -> None:
    visits = build(spec)
    flagged = repeated_visits(visits, RepeatRule())
    if len(visits) < 3:
        assert flagged == set()
    for index, current in enumerate(visits):
        if current.id in flagged:
            neighbours = [v for v in visits[max(0, index - 2) : index + 3] if v.id in flagged]
            assert len(neighbours) >= 3


@given(spec=visits_strategy, quick=st.sampled_from([0.0, 3.0]), keep=st.integers(3, 5))
def test_judging_each_visit_as_it_ends_flags_what_judging_them_all_at_once_does(
    spec: list[tuple[int, str, str]], quick: float, keep: int
) -> None:
    # The tap path keeps only the last few visits in memory and judges the run each one ends.
    rule = RepeatRule(quick_seconds=quick)
    visits = build(spec)
    flagged: set[str] = set()
    for end in range(1, len(visits) + 1):
        flagged |= repeated_run_ending(visits[max(0, end - keep) : end], rule)
    assert flagged == repeated_visits(visits, rule)
