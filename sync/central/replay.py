"""`kiosk-central alerts replay`: when each rule of an alerts file would have fired on a store's stored
history, so a manager can pick thresholds that do not cry wolf. Reads only; sends nothing.

Share rules and storms are evaluated at each answer's time (the instants a window can start to fire), "too
few answers" every quarter of its window, indices once per day or week. Firings closer together than the
rule's clear time make one episode, as they would make one alert. Device rules need a history of heartbeats
that central does not keep: they are listed as not replayable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from kiosk.domain.alerts import (
    Episode,
    TimedAnswer,
    bottom_values,
    group_firings,
    share_episodes,
    top_values,
    volume_fires,
    window_figures,
)
from kiosk.domain.days import days_between
from kiosk.domain.scoring import question_scores
from kiosk.domain.survey import AnswerError, Kind, Survey
from sync.central import directory_view
from sync.central.alert_rules import AlertsFile, Rule, rule_stores
from sync.central.alerts import parse_time
from sync.central.db import CentralDB, answers


@dataclass(frozen=True, slots=True)
class IndexDay:
    """A day (or a week, ending that day) whose index was under the rule's value."""

    day: dt.date
    value: float
    responses: int


@dataclass(frozen=True, slots=True)
class RuleReplay:
    rule: Rule
    episodes: list[Episode]
    note: str = ""
    index_days: tuple[IndexDay, ...] = ()


def replay(db: CentralDB, rules: AlertsFile, store_id: str, start: dt.date, end: dt.date) -> list[RuleReplay]:
    with db.reading() as conn:
        tz = directory_view.store_timezone(conn, store_id)
        survey = directory_view.store_survey(conn, store_id)
        every = directory_view.all_stores(conn)
        watching = [rule for rule in rules.rules if store_id in rule_stores(conn, rule, every)]
        rows = conn.execute(
            select(
                answers.c.question_id,
                answers.c.value,
                answers.c.created_at,
                answers.c.suspect,
                answers.c.local_day,
            ).where(
                answers.c.store_id == store_id,
                answers.c.local_day >= start.isoformat(),
                answers.c.local_day <= end.isoformat(),
            )
        ).all()
    by_question: dict[str, list[TimedAnswer]] = {}
    by_day: dict[tuple[str, str], dict[str, int]] = {}
    for question, value, created, suspect, day in rows:
        by_question.setdefault(question, []).append(TimedAnswer(parse_time(created), value, bool(suspect)))
        if not suspect:
            counts = by_day.setdefault((question, day), {})
            counts[value] = counts.get(value, 0) + 1
    first = dt.datetime.combine(start, dt.time(), tz)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)
    found: list[RuleReplay] = []
    for rule in watching:
        gap = max(rule.clear_after, dt.timedelta(minutes=1))
        if survey is None:
            found.append(RuleReplay(rule, [], "the store has no configuration on central"))
            continue
        if rule.kind == "device":
            found.append(RuleReplay(rule, [], "not replayable: central keeps no history of heartbeats"))
            continue
        if rule.kind == "followup_open":
            found.append(RuleReplay(rule, [], "not replayable: it reads the follow-ups as they are now"))
            continue
        if rule.kind in ("negative_share", "positive_share"):
            try:
                question = survey.question(rule.question or "")
            except AnswerError as error:
                found.append(RuleReplay(rule, [], str(error)))
                continue
            faces = bottom_values(question) if rule.kind == "negative_share" else top_values(question)
            episodes = share_episodes(
                by_question.get(question.id, []), rule.window, faces, rule.share, rule.min_answers, gap
            )
        elif rule.kind == "volume":
            counted = by_question.get(rule.question or survey.questions[0].id, [])
            # Storms at each answer's time; too few answers on a grid of a quarter window.
            checks: list[tuple[dt.datetime, int | None, int | None]] = [
                (a.at, None, rule.more_than) for a in counted if not a.suspect and rule.more_than is not None
            ]
            if rule.fewer_than is not None:
                step, at = rule.window / 4, first + rule.window
                while at <= last:
                    checks.append((at, rule.fewer_than, None))
                    at += step
            firings = []
            for at, fewer, more in checks:
                figures = window_figures(counted, at, rule.window, frozenset())
                if volume_fires(figures, fewer, more):
                    firings.append(figures)
            episodes = group_firings(firings, gap)
        else:
            found.append(
                RuleReplay(rule, [], index_days=tuple(_index_days(rule, survey, by_day, start, end)))
            )
            continue
        episodes = [e for e in episodes if not rule.muted_on(e.first.end.astimezone(tz).date())]
        found.append(RuleReplay(rule, episodes))
    return found


def _index_days(
    rule: Rule, survey: Survey, by_day: dict[tuple[str, str], dict[str, int]], start: dt.date, end: dt.date
) -> list[IndexDay]:
    kinds = {
        "nps": (Kind.NPS,),
        "csat": (Kind.SMILEY5, Kind.SMILEY4),
        "happy_index": (Kind.SMILEY5, Kind.SMILEY4),
    }
    wanted = kinds[rule.index or "nps"]
    question = next((q for q in survey.questions if q.kind in wanted and rule.question in (None, q.id)), None)
    if question is None or rule.below is None:
        return []
    found = []
    for day in days_between(start, end):
        if rule.period == "week" and day.weekday() != 6 and day != end:
            continue
        first = day if rule.period == "day" else day - dt.timedelta(days=day.weekday())
        counts: dict[str, int] = {}
        for counted_day in days_between(first, day):
            for answer, n in by_day.get((question.id, counted_day.isoformat()), {}).items():
                counts[answer] = counts.get(answer, 0) + n
        scores = question_scores(question, counts)
        index = scores.get(rule.index or "nps")
        if index is not None and scores["responses"] >= rule.min_answers and index < rule.below:
            found.append(IndexDay(day, float(index), int(scores["responses"])))
    return found


def describe(result: RuleReplay, tz: dt.tzinfo) -> list[str]:
    """The lines `alerts replay` prints for one rule."""
    rule = result.rule
    head = f"{rule.name} ({rule.kind}): "
    if result.note:
        return [head + result.note]
    if rule.kind == "index_below":
        count = len(result.index_days)
        lines = [head + (f"would have fired {count} times" if count else "would not have fired")]
        period = "week to" if rule.period == "week" else "day"
        return lines + [
            f"  {period} {d.day}  {rule.index} {d.value:g} over {d.responses} responses (below {rule.below:g})"
            for d in result.index_days
        ]
    lines = [
        head
        + (f"would have fired {len(result.episodes)} times" if result.episodes else "would not have fired")
    ]
    for episode in result.episodes:
        first = episode.first.end.astimezone(tz)
        last = episode.last.end.astimezone(tz)
        peak = episode.peak
        if rule.kind == "volume":
            what = f"{peak.total} answers in {rule.window_minutes} minutes"
        else:
            mood = "unhappy" if rule.kind == "negative_share" else "happy"
            what = (
                f"peak {peak.matching} of {peak.total} {mood} ({round(100 * peak.matching / peak.total)} %)"
            )
        until = f"{last:%H:%M}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M}"
        lines.append(f"  {first:%Y-%m-%d %H:%M} -> {until}  {what}")
    return lines
