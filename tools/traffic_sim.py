"""Traffic simulator for the repeated-press rule: genuine visits and press storms through the real survey flow.

Genuine shoppers arrive as a Poisson process (30, 60, 120 visits an hour). One who finds the kiosk in use
waits until the start screen is back. Each reads and taps (first tap 1-5 s after the screen is free, median
2.5 s; each later question median 3 s), answers the face question with about 60 % on the top face, gives a
reason after a low face (20 % skip it), answers 0-10 in line with the face, and 8 % walk away after the first
question (the kiosk goes back to the start after its idle time).

Press storms (a child, a leaning bag) arrive about twice an hour: one finger on one spot every 1-3 s, 5 to
30 presses, each landing on whatever the screen shows then (a face, a reason chip, the skip button, a 0-10
button, or nothing; presses during "thank you" are ignored), on the 800x480 landscape layout.

Every tap goes through `kiosk.ui.presenters.SurveyFlow`, the app's own visit logic (show_if, thank-you,
idle reset), on the default survey of `kiosk init`. The rules are then judged on the visits stored:
- genuine flagged: % of genuine visits flagged (their answers left out of the scores);
- storm caught: % of the storms' stored answers after each storm's first press that are flagged;
- CSAT kept / true: the CSAT of the visits kept beside the CSAT of the genuine visits only.

    python tools/traffic_sim.py [--hours 300] [--seed 1] [--markdown]
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import check_config_text, default_config_text
from kiosk.domain.repeats import Visit, repeated_visits, start_rule_flags
from kiosk.domain.survey import Display, Kind, KioskConfig, Question, RepeatRule
from kiosk.ui.presenters import Given, SurveyFlow

RATES = (30, 60, 120)
STORMS_PER_HOUR = 2.0
FACE_MIX = (0.04, 0.04, 0.10, 0.22, 0.60)  # faces 1..5
NPS_BY_FACE: dict[int, dict[int, float]] = {
    1: {0: 0.3, 1: 0.15, 2: 0.15, 3: 0.15, 4: 0.1, 5: 0.1, 6: 0.05},
    2: {2: 0.1, 3: 0.15, 4: 0.2, 5: 0.25, 6: 0.2, 7: 0.1},
    3: {4: 0.1, 5: 0.2, 6: 0.25, 7: 0.3, 8: 0.15},
    4: {6: 0.1, 7: 0.25, 8: 0.35, 9: 0.2, 10: 0.1},
    5: {7: 0.05, 8: 0.15, 9: 0.3, 10: 0.5},
}
REASON_MIX = (0.35, 0.2, 0.2, 0.1, 0.15)
EPOCH = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    flags: Callable[[Sequence[Visit]], set[str]]


def visit_rule(rule: RepeatRule) -> Callable[[Sequence[Visit]], set[str]]:
    return lambda visits: repeated_visits(visits, rule)


def start_rule(window: float, min_run: int) -> Callable[[Sequence[Visit]], set[str]]:
    def flags(visits: Sequence[Visit]) -> set[str]:
        marks = start_rule_flags(visits, window, min_run)
        return {visit.id for visit, flagged in zip(visits, marks, strict=True) if flagged}

    return flags


VARIANTS = (
    Variant("before: first answer, 10 s, from the 2nd visit (at start)", start_rule(10, 2)),
    Variant("before, window 5 s", start_rule(5, 2)),
    Variant("before, window 7 s, from the 3rd visit", start_rule(7, 3)),
    Variant("alike visits, 7 s, runs of 2", visit_rule(RepeatRule(7, 2))),
    Variant("alike, 7 s, runs of 3, or 2 at <= 2.5 s rhythm", visit_rule(RepeatRule(7, 3, 2.5))),
    Variant("alike visits, 6 s, runs of 3", visit_rule(RepeatRule(6, 3))),
    Variant("alike visits, 7 s, runs of 3", visit_rule(RepeatRule(7, 3))),
    Variant("alike visits, 10 s, runs of 3", visit_rule(RepeatRule(10, 3))),
    Variant("alike visits, 7 s, runs of 4", visit_rule(RepeatRule(7, 4))),
)
CHOSEN = next(i for i, v in enumerate(VARIANTS) if v.name == "alike visits, 6 s, runs of 3")


@dataclass(slots=True)
class Traffic:
    """What was stored: visits in time order, and which were genuine or storm presses."""

    visits: list[Visit] = field(default_factory=list)
    genuine: set[str] = field(default_factory=set)
    storm_answers: dict[str, int] = field(default_factory=dict)  # visit id -> storm answers after the first
    faces: dict[str, int] = field(default_factory=dict)  # genuine visit -> face


def pick(rng: random.Random, mix: Sequence[float] | dict[int, float]) -> int:
    if isinstance(mix, dict):
        return rng.choices(list(mix), weights=list(mix.values()))[0]
    return rng.choices(range(1, len(mix) + 1), weights=mix)[0]


def lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0, sigma))))


def hit(question: Question, x: float, y: float) -> str | None:
    """What a press at (x, y) (fractions of an 800x480 landscape screen, y from the top) lands on."""
    if question.kind in (Kind.SMILEY5, Kind.SMILEY4):
        faces = 5 if question.kind is Kind.SMILEY5 else 4
        return str(1 + min(faces - 1, int(x * faces))) if y >= 0.36 else None
    if question.kind is Kind.CHOICE:
        if 0.36 <= y < 0.78:
            index = int((y - 0.36) / 0.21) * 3 + min(2, int(x * 3))
            return question.options[index].id if index < len(question.options) else None
        return "skip" if y >= 0.84 and x >= 0.62 else None
    if question.scale is not None and 0.36 <= y < 0.80:
        low, high = question.scale
        count = high - low + 1
        return str(low + min(count - 1, int(x * count)))
    return None


def simulate(config: KioskConfig, rate: float, hours: float, seed: int) -> Traffic:
    rng = random.Random(seed)
    display = config.display
    traffic = Traffic()
    stored: list[tuple[str, str, str, float]] = []  # (visit, question, value, t)

    def record(new: Given) -> None:
        stored.append(
            (new.session_id, new.question_id, str(new.value), (new.created_at - EPOCH).total_seconds())
        )

    flow = SurveyFlow(config.survey, record, display)
    # Arrivals: (time, kind); genuine and storms interleave on one kiosk.
    events: list[tuple[float, int, str]] = []
    t, serial = 0.0, 0
    while t < hours * 3600:
        t += rng.expovariate(rate / 3600)
        events.append((t, serial, "visit"))
        serial += 1
    t = 0.0
    while t < hours * 3600:
        t += rng.expovariate(STORMS_PER_HOUR / 3600)
        events.append((t, serial, "storm"))
        serial += 1
    heapq.heapify(events)
    free_at = 0.0  # when the start screen is back and nobody is at the kiosk

    def tap(value: str | None, at: float) -> str | None:
        """One tap on the flow; returns the visit id if it stored an answer."""
        flow.tick(at)
        flow.touch(at)  # every touch is activity, as in KioskRoot.on_touch_down, even on no button
        question = flow.question
        if question is None or value is None:
            return None
        if value == "skip":
            flow.skip(at)
            return None
        before = len(stored)
        flow.answer(value, EPOCH + dt.timedelta(seconds=at), at)
        return stored[-1][0] if len(stored) > before else None

    def settle(at: float) -> float:
        """When the start screen is back after the last activity (thank-you over, or the idle reset)."""
        if flow.thanking_since is not None:
            return flow.thanking_since + display.thank_you_seconds
        if flow.at_start:
            return at
        return flow.last_activity + display.idle_timeout_seconds

    while events:
        arrival, _, kind = heapq.heappop(events)
        start = max(arrival, free_at)
        if kind == "visit":
            at = start + lognormal(rng, 2.5, 0.4, 1.0, 5.0)
            face = pick(rng, FACE_MIX)
            visit = tap(str(face), at)
            if visit is None:
                continue
            traffic.genuine.add(visit)
            traffic.faces[visit] = face
            leaves = rng.random() < 0.08
            while not leaves and flow.question is not None:
                at += lognormal(rng, 3.0, 0.35, 1.2, 9.0)
                question = flow.question
                if question.kind is Kind.CHOICE:
                    choice = None if rng.random() < 0.2 else question.options[pick(rng, REASON_MIX) - 1].id
                    tap(choice or "skip", at)
                else:
                    tap(str(pick(rng, NPS_BY_FACE[face])), at)
            free_at = settle(at)
        else:
            x, y = rng.random(), rng.uniform(0.4, 0.95)
            at = start + lognormal(rng, 1.5, 0.3, 0.5, 3.0)
            first = True
            for _ in range(rng.randint(5, 30)):
                flow.tick(at)
                on_screen = flow.question
                visit = tap(None if on_screen is None else hit(on_screen, x, y), at)
                if visit is not None:
                    if not first:
                        traffic.storm_answers[visit] = traffic.storm_answers.get(visit, 0) + 1
                    else:
                        traffic.storm_answers.setdefault(visit, 0)
                    first = False
                at += rng.uniform(1.0, 3.0)
            free_at = settle(at)

    by_visit: dict[str, list[tuple[str, str, dt.datetime]]] = {}
    for visit_id, question_id, value, seconds in stored:
        by_visit.setdefault(visit_id, []).append((question_id, value, EPOCH + dt.timedelta(seconds=seconds)))
    traffic.visits = [Visit(vid, tuple(answers)) for vid, answers in by_visit.items()]
    traffic.visits.sort(key=lambda v: v.started_at)
    return traffic


@dataclass(frozen=True, slots=True)
class Figures:
    genuine_flagged: float
    storm_caught: float
    csat_kept: float
    csat_true: float


def judge(traffic: Traffic, variant: Variant) -> Figures:
    flagged = variant.flags(traffic.visits)
    genuine = len(traffic.genuine)
    storm_total = sum(traffic.storm_answers.values())
    storm_flagged = sum(n for vid, n in traffic.storm_answers.items() if vid in flagged)
    faces_kept = [
        int(visit.answers[0][1])
        for visit in traffic.visits
        if visit.id not in flagged and visit.answers[0][0] == "satisfaction"
    ]
    true = list(traffic.faces.values())
    return Figures(
        genuine_flagged=100 * len(flagged & traffic.genuine) / max(1, genuine),
        storm_caught=100 * storm_flagged / max(1, storm_total),
        csat_kept=100 * sum(f >= 4 for f in faces_kept) / max(1, len(faces_kept)),
        csat_true=100 * sum(f >= 4 for f in true) / max(1, len(true)),
    )


def default_config() -> KioskConfig:
    config = check_config_text(default_config_text("sim", "till-1", "Europe/Paris", "Sim"), "sim")
    return KioskConfig(config.store, config.device_id, config.survey, config.repeats, Display())


def table(hours: float, seed: int) -> list[tuple[int, str, Figures]]:
    config = default_config()
    rows = []
    for rate in RATES:
        traffic = simulate(config, rate, hours, seed + rate)
        for variant in VARIANTS:
            rows.append((rate, variant.name, judge(traffic, variant)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=300.0, help="simulated hours per rate (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"{args.hours:g} simulated hours per rate, {STORMS_PER_HOUR:g} storms an hour, seed {args.seed}")
    print("| visits/h | rule | genuine flagged | storm presses flagged | CSAT kept / true |")
    print("|---:|---|---:|---:|---:|")
    for rate, name, fig in table(args.hours, args.seed):
        mark = " **(default)**" if name == VARIANTS[CHOSEN].name else ""
        print(
            f"| {rate} | {name}{mark} | {fig.genuine_flagged:.1f} % | {fig.storm_caught:.1f} % "
            f"| {fig.csat_kept:.1f} / {fig.csat_true:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
