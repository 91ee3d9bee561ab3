"""Every head-office read, from the rollups (never the raw answers): the overview of a scope and period,
a store's page, the fleet. Pages, exports and the JSON API all call these, so a figure is the same number
everywhere by construction.

Counting follows DESIGN.md: "responses" and "repeated presses" are visits (answers to the survey's first
question, suspect ones apart); an index comes from the counts of its question over the whole period (never
an average of daily figures); the ranking score is HappyOrNot's RS = (WAI*W + I*R) / (W + R).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    and_,
    case,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import text as sql_text

from kiosk.config import ConfigError, check_config_text
from kiosk.domain.scoring import round1
from kiosk.domain.survey import SCALES, Kind, Question
from sync.central import directory_view
from sync.central.configs import rollout_status
from sync.central.db import (
    CentralDB,
    devices,
    rollup_daily,
    rollup_hourly,
    rollup_index_daily,
    rollup_index_monthly,
    stores,
)
from sync.central.directory import Directory, load_directory
from sync.central.service import CentralError

# The indexes a page ranks by: the kinds of question that give them and the figure's key.
INDEXES: Mapping[str, tuple[tuple[Kind, ...], str]] = {
    "nps": ((Kind.NPS,), "nps"),
    "csat": ((Kind.SMILEY5, Kind.SMILEY4), "csat"),
    "happy_index": ((Kind.SMILEY5, Kind.SMILEY4), "happy_index"),
    "ces": ((Kind.CES7,), "ces_easy"),
}
PRESETS = ("today", "yesterday", "7d", "30d", "month", "custom")
MAX_DAYS = 3660
ONLINE_WITHIN = dt.timedelta(hours=1)


# -- periods ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date
    preset: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = dt.timedelta(days=self.days)
        return Period(self.start - length, self.start - dt.timedelta(days=1))


# Days a view may name: the previous period and the month arithmetic stay inside the calendar (0001-01-01
# made `previous()` overflow: a 500, found by schemathesis).
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _day(text: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CentralError(400, f"{name}: not a day (YYYY-MM-DD): {text[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise CentralError(400, f"{name}: a day from {FIRST_DAY} to {LAST_DAY}, not {day}")
    return day


def resolve_period(preset: str | None, start: str | None, end: str | None, today: dt.date) -> Period:
    """`?from=&to=` wins (a bookmarked view stays the same view); else a preset; else the last 7 days."""
    if start or end:
        first = _day(start or end or "", "from")
        last = _day(end or start or "", "to")
        if first > last:
            raise CentralError(400, f"from {first} is after to {last}")
        if (last - first).days >= MAX_DAYS:
            raise CentralError(400, f"a period is at most {MAX_DAYS} days")
        return Period(first, last, "custom")
    preset = preset or "7d"
    if preset == "today":
        return Period(today, today, preset)
    if preset == "yesterday":
        day = today - dt.timedelta(days=1)
        return Period(day, day, preset)
    if preset == "7d":
        return Period(today - dt.timedelta(days=6), today, preset)
    if preset == "30d":
        return Period(today - dt.timedelta(days=29), today, preset)
    if preset == "month":
        return Period(today.replace(day=1), today, preset)
    raise CentralError(400, f"period must be one of {', '.join(PRESETS[:-1])}, or from= and to=")


def local_today(
    db: CentralDB, now: dt.datetime, store_id: str | None = None, visible: frozenset[str] | None = None
) -> dt.date:
    """ "Today" for the period presets, in local time, never the UTC date: a store's view counts in the
    store's time zone; a scope's in its stores' zone when they share one, else head office's (the
    directory's default zone)."""
    if store_id is not None:
        with db.reading() as conn:
            return now.astimezone(directory_view.store_timezone(conn, store_id)).date()
    directory = load_directory(db)
    zones = {e.timezone for e in directory.stores.values() if visible is None or e.id in visible}
    zone = zones.pop() if len(zones) == 1 else directory_view.DEFAULT_TIMEZONE
    try:
        return now.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo(directory_view.DEFAULT_TIMEZONE)).date()


def check_index(index: str | None) -> str:
    index = index or "nps"
    if index not in INDEXES:
        raise CentralError(400, f"index must be one of {', '.join(INDEXES)}")
    return index


# -- what each store's survey asks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyFacts:
    first: str | None  # the first question: its answers are the visits
    questions: tuple[Question, ...]

    def for_index(self, index: str) -> Question | None:
        kinds = INDEXES[index][0]
        return next((q for q in self.questions if q.kind in kinds), None)

    def reasons(self) -> Question | None:
        return next((q for q in self.questions if q.kind is Kind.CHOICE), None)


_facts_cache: dict[str, SurveyFacts] = {}
NO_SURVEY = SurveyFacts(None, ())


def survey_facts(conn: Connection, store_ids: Iterable[str]) -> dict[str, SurveyFacts]:
    """Each store's survey, parsed once per configuration version (ETag) and kept in memory."""
    wanted = set(store_ids)
    etags = dict(_plain_rows(conn, select(stores.c.id, stores.c.config_etag)))
    missing = [etags[s] for s in wanted if etags.get(s) and etags[s] not in _facts_cache]
    if missing:
        found = conn.execute(
            select(stores.c.config_etag, stores.c.config_toml).where(stores.c.config_etag.in_(missing))
        )
        for etag, text in found:
            try:
                survey = check_config_text(text, "central").survey
                _facts_cache[etag] = SurveyFacts(survey.questions[0].id, survey.questions)
            except ConfigError:
                _facts_cache[etag] = NO_SURVEY
    return {s: _facts_cache.get(etags.get(s) or "", NO_SURVEY) for s in wanted}


# -- the overview -----------------------------------------------------------------------------------------


def _figure(question: Question | None, index: str, counts: Mapping[str, int]) -> float | None:
    """The index from one question's counts: the same figure as `question_scores` (a property test checks
    it), without building the whole score dictionary."""
    if question is None or not counts:
        return None
    return _combined([_parts(question, index, counts)])


def _parts(question: Question, index: str, counts: Mapping[str, int]) -> tuple[Fraction, int]:
    """(sum of each answer's score, answers): an index is 100 * sum / answers, so a scope's index is its
    stores' sums over their answers, exactly (never an average of store or daily figures)."""
    low, high = question.scale or (0, 1)
    score = Fraction(0)
    answers = 0
    for text, n in counts.items():
        value = int(text)
        answers += n
        if index == "nps":
            score += n * (1 if value >= 9 else -1 if value <= 6 else 0)
        elif index == "csat":
            score += n * (value >= high - 1)
        elif index == "happy_index":
            score += Fraction(n * (value - low), high - low)
        else:
            score += n * (value >= 5)
    return score, answers


def _combined(parts: Iterable[tuple[Fraction, int]]) -> float | None:
    score = sum((s for s, _ in parts), Fraction(0))
    answers = sum(n for _, n in parts)
    return None if answers == 0 else round1(100 * score / answers)


def _store_ids(conn: Connection, directory: Directory, visible: frozenset[str] | None) -> list[str]:
    known = {r[0] for r in _plain_rows(conn, select(stores.c.id))} | set(directory.stores)
    return sorted(s for s in known if visible is None or s in visible)


def scope_stores(
    conn: Connection, directory: Directory, visible: frozenset[str] | None, group: str | None
) -> list[str]:
    """The stores a reader sees, narrowed to a group (and its sub-groups) when one is asked for."""
    ids = _store_ids(conn, directory, visible)
    if group:
        if group not in directory.groups:
            raise CentralError(404, f"no group {group!r}")
        in_group = directory.stores_in(group)
        ids = [s for s in ids if s in in_group]
    return ids


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of a period read from one rollup: days (YYYY-MM-DD, `rollup_*_daily`) or months (YYYY-MM,
    `rollup_*_monthly`), added (sign 1) or taken away (sign -1)."""

    rollup: str  # "day" or "month"
    first: str
    last: str
    sign: int = 1


def segments(period: Period) -> list[Segment]:
    """The period as few rollup rows a store as it can: a month it covers whole is one monthly row; a month
    it covers mostly is the month minus the days it leaves out (counts add up exactly, so they subtract
    too); a month it touches for a few days is those days. A rolling 30 days is then 3 rows a store
    (month, minus a day, plus a day), not 30."""
    pieces: list[tuple[str, dt.date, dt.date, int]] = []
    month = period.start.replace(day=1)
    while month <= period.end:
        after = _next_month(month)
        last_day = after - dt.timedelta(days=1)
        low, high = max(period.start, month), min(period.end, last_day)
        inside = (high - low).days + 1
        outside = (last_day - month).days + 1 - inside
        if outside == 0:
            pieces.append(("month", month, month, 1))
        elif inside <= 1 + outside:
            pieces.append(("day", low, high, 1))
        else:
            pieces.append(("month", month, month, 1))
            if low > month:
                pieces.append(("day", month, low - dt.timedelta(days=1), -1))
            if high < last_day:
                pieces.append(("day", high + dt.timedelta(days=1), last_day, -1))
        month = after
    # Neighbours of one rollup and sign read as one range: a year of whole months is one query.
    merged: list[tuple[str, dt.date, dt.date, int]] = []
    for rollup, first, last, sign in sorted(pieces, key=lambda p: (p[0], -p[3], p[1])):
        if merged:
            m_rollup, m_first, m_last, m_sign = merged[-1]
            follows = _next_month(m_last) if rollup == "month" else m_last + dt.timedelta(days=1)
            if (m_rollup, m_sign) == (rollup, sign) and follows == first:
                merged[-1] = (rollup, m_first, last, sign)
                continue
        merged.append((rollup, first, last, sign))
    width = {"day": 10, "month": 7}
    return [
        Segment(rollup, first.isoformat()[: width[rollup]], last.isoformat()[: width[rollup]], sign)
        for rollup, first, last, sign in merged
    ]


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _index_rollup(segment: Segment) -> tuple[Any, Any]:
    """The index rollup a segment reads (per day or per month) and its time column."""
    if segment.rollup == "day":
        return rollup_index_daily, rollup_index_daily.c.local_day
    return rollup_index_monthly, rollup_index_monthly.c.month


def _trend_buckets(period: Period) -> tuple[str, int]:
    """Sparkline points: days up to 62 days, else months (a line of 365 points says no more)."""
    return ("day", 10) if period.days <= 62 else ("month", 7)


def _score_sql(index: str, t: Any) -> Any:
    """Per index rollup row, its share of the index's numerator (see `_parts`) in UNITs: a scope's index then
    comes from two sums per store."""
    if index == "nps":
        return (t.c.promoters - t.c.detractors) * UNIT
    if index == "csat":
        return t.c.top2 * UNIT
    if index == "happy_index":
        # Steps above the lowest face, each worth 1 / (the scale's width) of a full score.
        units = {str(k): UNIT // (SCALES[k][1] - SCALES[k][0]) for k in INDEXES[index][0]}
        return t.c.happy * case(units, value=t.c.kind, else_=0)
    return t.c.easy * UNIT


# Happy Index numerators are counted in twelfths (the scales' widths 4 and 3 both divide 12), so every
# sum stays an integer and a scope mixing 5- and 4-face surveys still adds up exactly.
UNIT = 12


def ratio1(numerator: int, denominator: int) -> float:
    """numerator / denominator rounded half away from zero to one decimal, exactly (integers only; the
    same as `round1(Fraction(...))`)."""
    negative = (numerator < 0) != (denominator < 0)
    tenths, rest = divmod(10 * abs(numerator), abs(denominator))
    if 2 * rest >= abs(denominator):
        tenths += 1
    return (-tenths if negative else tenths) / 10


@dataclass(frozen=True, slots=True)
class Parts:
    score: int  # in UNITs of one answer's full score
    answers: int

    @property
    def value(self) -> float | None:
        return None if self.answers == 0 else ratio1(100 * self.score, UNIT * self.answers)


def _trends(
    conn: Connection,
    store_ids: list[str],
    period: Period,
    index: str,
    questions: Mapping[str, str],
    by_bucket: int,
) -> dict[str, dict[str, list[int]]]:
    """store -> bucket -> [the index's score in UNITs, answers] over the period, from each store's index
    question; the bucket is the first `by_bucket` characters of the day (10: days, 7: months). Lists, not
    objects: a trend has a point a day."""
    kinds = [str(k) for k in INDEXES[index][0]]
    few = len(store_ids) < 500
    wanted = sorted(set(questions.values()))

    def where(t: Any) -> list[Any]:
        return [
            t.c.kind.in_(kinds),
            t.c.question_id.in_(wanted),
            *([t.c.store_id.in_(store_ids)] if few else []),
        ]

    result: dict[str, dict[str, list[int]]] = {}
    get = questions.get
    if by_bucket == 10:
        # Days: a row a store, day, question and kind already. One row a store, its days in one text
        # ("day score answers ..."): 1,000 rows to read instead of 30,000.
        t = rollup_index_daily
        day = t.c.local_day
        point = day + " " + sql_cast(_score_sql(index, t), String) + " " + sql_cast(t.c.n, String)
        query = (
            select(t.c.store_id, t.c.question_id, func.aggregate_strings(point, " "))
            .where(
                # A page of stores: each (day, store) looked up in the day-first key, rather than every
                # store's rows of the period read and most of them thrown away.
                day.in_([d.isoformat() for d in _days(period)])
                if few
                else and_(day >= period.start.isoformat(), day <= period.end.isoformat()),
                *where(t),
            )
            .group_by(t.c.store_id, t.c.question_id)
        )
        for store_id, question_id, text in _plain_rows(conn, query):
            if get(store_id) != question_id:
                continue
            buckets = result.setdefault(store_id, {})
            parts = text.split(" ")
            for i in range(0, len(parts), 3):
                n = int(parts[i + 2])
                if not n:
                    continue
                sums = buckets.get(parts[i])
                if sums is None:
                    buckets[parts[i]] = [int(parts[i + 1]), n]
                else:  # the question changed kind that day: a row for each
                    sums[0] += int(parts[i + 1])
                    sums[1] += n
        return result
    # Months: a segment a query, its sums added or taken away (see `segments`).
    for segment in segments(period):
        t, key = _index_rollup(segment)
        bucket = func.substr(key, 1, by_bucket)  # one expression: PostgreSQL groups by the same binds
        query = (
            select(t.c.store_id, t.c.question_id, bucket, func.sum(_score_sql(index, t)), func.sum(t.c.n))
            .where(key >= segment.first, key <= segment.last, *where(t))
            .group_by(t.c.store_id, t.c.question_id, bucket)
        )
        sign = segment.sign
        for store_id, question_id, bucket, score, n in _plain_rows(conn, query):
            if not n or get(store_id) != question_id:
                continue
            sums = result.setdefault(store_id, {}).get(bucket)
            if sums is None:
                result[store_id][bucket] = [sign * int(score), sign * int(n)]
            else:
                sums[0] += sign * int(score)
                sums[1] += sign * int(n)
    return result


def _plain_rows(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """The query's rows as the driver's plain tuples: a 30-day overview of 1,000 stores reads thousands of
    rows, and SQLAlchemy's result rows cost more than the query itself (about 2.5 times the driver's CPU
    time). Executed through SQLAlchemy all the same, for its cache of compiled statements (compiling one of
    these selects anew takes 1 to 4 ms). Only for queries of plain columns and sums (no type processing to
    skip)."""
    result = conn.execute(query)
    try:
        return cast("list[tuple[Any, ...]]", result.cursor.fetchall())
    finally:
        result.close()


@dataclass(slots=True)
class StoreSums:
    """A store's counts over a period and the previous one: its visits and repeated presses (answers to
    the survey's first question, suspect ones apart), and its index's parts (score in UNITs, answers)."""

    visits: int = 0
    repeated: int = 0
    score: int = 0
    answers: int = 0
    visits_before: int = 0
    repeated_before: int = 0
    score_before: int = 0
    answers_before: int = 0


@lru_cache(maxsize=256)
def _period_sums_query(
    periods: tuple[tuple[Segment, ...], ...],
    index: str,
    wanted: tuple[str, ...],
    scoped: tuple[str, ...] | None,
) -> Any:
    """The statement of `_period_sums`, built once per view: building it takes a few milliseconds, then
    SQLAlchemy's cache of compiled statements serves it (`scoped`: the stores, when fewer than 500)."""
    kinds = [str(k) for k in INDEXES[index][0]]
    parts = []
    for p, period in enumerate(periods):
        for segment in period:
            t, key = _index_rollup(segment)
            sign: Any = literal_column(str(segment.sign))
            parts.append(
                select(
                    t.c.store_id.label("store_id"),
                    t.c.question_id.label("question_id"),
                    literal_column(str(p)).label("p"),
                    case((t.c.kind.in_(kinds), 1), else_=0).label("counted"),
                    (_score_sql(index, t) * sign).label("score"),
                    (t.c.n * sign).label("n"),
                    (t.c.suspect_n * sign).label("suspect_n"),
                ).where(
                    key >= segment.first,
                    key <= segment.last,
                    t.c.question_id.in_(wanted),
                    *([t.c.store_id.in_(scoped)] if scoped is not None else []),
                )
            )
    rows = union_all(*parts).subquery()
    r = rows.c

    def total(value: Any, p: int, counted: bool) -> Any:
        when = and_(r.p == p, r.counted == 1) if counted else r.p == p
        return sql_cast(func.sum(case((when, value), else_=0)), BigInteger)

    return select(
        r.store_id,
        r.question_id,
        *(
            column
            for p in range(len(periods))
            for column in (
                total(r.n, p, False),
                total(r.suspect_n, p, False),
                total(r.score, p, True),
                total(r.n, p, True),
            )
        ),
    ).group_by(r.store_id, r.question_id)


def _period_sums(
    conn: Connection,
    store_ids: list[str],
    periods: tuple[Period, Period],
    index: str,
    first: Mapping[str, str],
    index_question: Mapping[str, str],
) -> dict[str, StoreSums]:
    """store -> its StoreSums over the period and the previous one, in one query: every segment of both
    periods (see `segments`) read from the index rollups with its sign, added up by the database into one
    row a store and question (at 1,000 stores: one round trip and 2,000 rows, instead of four and 5,000)."""
    if not store_ids:
        return {}
    wanted = tuple(sorted(set(first.values()) | set(index_question.values())))
    scoped = tuple(store_ids) if len(store_ids) < 500 else None
    query = _period_sums_query(tuple(tuple(segments(p)) for p in periods), index, wanted, scoped)
    result: dict[str, StoreSums] = {}
    for store_id, question_id, v0, r0, s0, n0, v1, r1, s1, n1 in _plain_rows(conn, query):
        sums = result.get(store_id)
        if sums is None:
            sums = result[store_id] = StoreSums()
        if first.get(store_id) == question_id:
            sums.visits, sums.repeated, sums.visits_before, sums.repeated_before = v0, r0, v1, r1
        if index_question.get(store_id) == question_id:
            sums.score, sums.answers, sums.score_before, sums.answers_before = s0, n0, s1, n1
    return result


def _bucket_keys(period: Period) -> list[str]:
    kind, _ = _trend_buckets(period)
    keys: list[str] = []
    day = period.start
    while day <= period.end:
        key = day.isoformat() if kind == "day" else day.isoformat()[:7]
        if not keys or keys[-1] != key:
            keys.append(key)
        day += dt.timedelta(days=1)
    return keys


def ranking_scores(figures: Mapping[str, tuple[float | None, int]]) -> dict[str, float | None]:
    """HappyOrNot's RS = (WAI*W + I*R) / (W + R): WAI the response-weighted average index of all stores,
    W the average response count, I and R a store's index and response count."""
    counted = {s: (i, r) for s, (i, r) in figures.items() if i is not None and r > 0}
    if not counted:
        return dict.fromkeys(figures)
    total = sum(r for _, r in counted.values())
    wai = sum(i * r for i, r in counted.values() if i is not None) / total
    weight = total / len(counted)
    return {
        s: None if i is None or r == 0 else round((wai * weight + i * r) / (weight + r), 1)
        for s, (i, r) in figures.items()
    }


@dataclass(frozen=True, slots=True)
class Rows:
    """Which ranked rows an overview returns: `size` rows from the `page`th (1-based), or all of them
    (size None). Every store is still ranked and counted in the totals; only the rows returned get a
    trend (at 1,000 stores, the trends and the table's HTML cost more than everything else)."""

    page: int = 1
    size: int | None = None

    def part(self, count: int) -> slice:
        if self.size is None:
            return slice(0, count)
        start = (self.page - 1) * self.size
        return slice(start, start + self.size)

    def pages(self, count: int) -> int:
        return 1 if not self.size else max(1, -(-count // self.size))


ALL_ROWS = Rows()
MAX_PAGE_SIZE = 1000


def rows_wanted(page: int | None, size: int | None, default_size: int | None) -> Rows:
    """`?page=&per_page=` checked: a 400 with the reason for a number out of range."""
    if page is not None and page < 1:
        raise CentralError(400, "page must be 1 or more")
    size = default_size if size is None else size
    if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
        raise CentralError(400, f"per_page must be between 1 and {MAX_PAGE_SIZE}")
    return Rows(page or 1, size)


def overview(
    db: CentralDB,
    visible: frozenset[str] | None,
    period: Period,
    index: str,
    group: str | None = None,
    directory: Directory | None = None,
    rows: Rows = ALL_ROWS,
    trends: bool = True,
) -> dict[str, Any]:
    """The overview: every store of the scope ranked for a period, with what changed since the previous
    period, its target and the gap, a trend, and the scope's totals (from counts). `directory`: the one the
    request already loaded (else read here); `rows`: which ranked rows to return (a page of the table);
    `trends`: whether they carry their trend (a sparkline's points)."""
    directory = directory or load_directory(db)
    with rollup_reading(db) as conn:
        return _overview(conn, directory, visible, period, index, group, rows, trends)


@contextmanager
def rollup_reading(db: CentralDB) -> Iterator[Connection]:
    """A reading connection for the head-office pages. On PostgreSQL without parallel workers: starting
    them took 10 ms of a 35 ms overview query on 2 cores, for a few thousand rollup rows that one process
    reads faster (measured with EXPLAIN ANALYZE at 1,000 stores)."""
    with db.reading() as conn:
        if not db.is_sqlite:
            conn.execute(sql_text("SET LOCAL max_parallel_workers_per_gather = 0"))
        yield conn


def _value(sums: list[int] | None) -> float | None:
    return None if not sums or not sums[1] else ratio1(100 * sums[0], UNIT * sums[1])


def _values(sums: Iterable[list[int] | None]) -> list[float | None]:
    """`_value` of many buckets, each (score, answers) pair worked out once: a day of a store has a few
    dozen answers, so 30,000 trend points hold a few thousand distinct pairs."""
    seen: dict[tuple[int, int], float | None] = {}
    result: list[float | None] = []
    for pair in sums:
        if not pair or not pair[1]:
            result.append(None)
            continue
        key = (pair[0], pair[1])
        value = seen.get(key)
        if value is None:
            value = seen[key] = ratio1(100 * key[0], UNIT * key[1])
        result.append(value)
    return result


def _overview(
    conn: Connection,
    directory: Directory,
    visible: frozenset[str] | None,
    period: Period,
    index: str,
    group: str | None,
    wanted: Rows = ALL_ROWS,
    trends: bool = True,
) -> dict[str, Any]:
    previous = period.previous()
    ids = scope_stores(conn, directory, visible, group)
    facts = survey_facts(conn, ids)
    index_question = {s: q.id for s in ids if (q := facts[s].for_index(index)) is not None}
    first = {s: f.first for s, f in facts.items() if f.first}
    sums = _period_sums(conn, ids, (period, previous), index, first, index_question)
    rows: list[dict[str, Any]] = []
    no_buckets: dict[str, list[int]] = {}
    nothing = StoreSums()
    for store_id in ids:
        counts = sums.get(store_id, nothing)
        value = _value([counts.score, counts.answers])
        before_value = _value([counts.score_before, counts.answers_before])
        target = directory.target(store_id, index) if index != "ces" else None
        entry = directory.stores.get(store_id)
        rows.append(
            {
                "store": store_id,
                "name": entry.name if entry else store_id,
                "group": entry.group_id if entry else None,
                "responses": counts.visits,
                "repeated_presses": counts.repeated,
                "answers": counts.answers,
                "value": value,
                "previous": before_value,
                "change": None if value is None or before_value is None else round(value - before_value, 1),
                "target": target,
                "gap": None if value is None or target is None else round(value - target, 1),
            }
        )
    scores = ranking_scores({r["store"]: (r["value"], r["answers"]) for r in rows})
    for row in rows:
        row["ranking_score"] = scores[row["store"]]
    rows.sort(key=lambda r: (r["ranking_score"] is None, -(r["ranking_score"] or 0), r["name"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row["ranking_score"] is not None else None
    shown = rows[wanted.part(len(rows))]
    keys = _bucket_keys(period)
    if trends:
        # Only the rows returned: a page of 50 reads 1,500 days, not the scope's 30,000.
        _kind, width = _trend_buckets(period)
        shown_ids = [r["store"] for r in shown]
        questions = {s: index_question[s] for s in shown_ids if s in index_question}
        points = _trends(conn, shown_ids, period, index, questions, by_bucket=width) if shown else {}
        for row in shown:
            buckets = points.get(row["store"], no_buckets)
            row["trend"] = _values([buckets.get(k) for k in keys])
    # The scope's figure from the counts of every store: its numerators over its answers.
    total = Parts(sum(c.score for c in sums.values()), sum(c.answers for c in sums.values()))
    total_before = Parts(
        sum(c.score_before for c in sums.values()), sum(c.answers_before for c in sums.values())
    )
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "previous_from": previous.start.isoformat(),
        "previous_to": previous.end.isoformat(),
        "index": index,
        "group": group,
        "trend_buckets": keys,
        "stores": shown,
        "store_count": len(rows),
        "page": wanted.page,
        "pages": wanted.pages(len(rows)),
        "total": {
            "responses": sum(r["responses"] for r in rows),
            "repeated_presses": sum(r["repeated_presses"] for r in rows),
            "answers": total.answers,
            "value": total.value,
            "previous": total_before.value,
            "change": None
            if total.value is None or total_before.value is None
            else round(total.value - total_before.value, 1),
        },
    }


# -- one store --------------------------------------------------------------------------------------------


def _iso_week(day: str) -> str:
    year, week, _ = dt.date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def store_page(db: CentralDB, store_id: str, period: Period, index: str) -> dict[str, Any]:
    """A store for a period: daily and weekly trend of the index with its target, the weekday x hour heat
    map (store-local time, opening hours), the distribution, top reasons (and how they moved), the store
    against its group's average, and its devices."""
    previous = period.previous()
    directory = load_directory(db)
    with rollup_reading(db) as conn:
        known = _store_ids(conn, directory, None)
        if store_id not in known:
            raise CentralError(404, f"no store {store_id!r}")
        fact = survey_facts(conn, [store_id])[store_id]
        question = fact.for_index(index)
        reasons = fact.reasons()
        t = rollup_daily
        in_period = and_(
            t.c.store_id == store_id,
            t.c.local_day >= previous.start.isoformat(),
            t.c.local_day <= period.end.isoformat(),
        )
        daily = conn.execute(
            select(t.c.local_day, t.c.question_id, t.c.value, t.c.suspect, t.c.n).where(in_period)
        ).all()
        h = rollup_hourly
        hourly = conn.execute(
            select(h.c.local_day, h.c.hour, func.sum(h.c.n))
            .where(
                h.c.store_id == store_id,
                h.c.local_day >= period.start.isoformat(),
                h.c.local_day <= period.end.isoformat(),
                h.c.question_id == (fact.first or ""),
                h.c.suspect.is_(False),
            )
            .group_by(h.c.local_day, h.c.hour)
        ).all()
        device_rows = conn.execute(
            select(devices).where(devices.c.store_id == store_id).order_by(devices.c.device_id)
        ).all()
        served = conn.execute(select(stores.c.config_version).where(stores.c.id == store_id)).scalar()
    start, end = period.start.isoformat(), period.end.isoformat()
    per_day: dict[str, dict[str, int]] = defaultdict(dict)
    per_week: dict[str, dict[str, int]] = defaultdict(dict)
    distribution: dict[str, int] = defaultdict(int)
    reasons_now: dict[str, int] = defaultdict(int)
    reasons_before: dict[str, int] = defaultdict(int)
    visits = repeated = 0
    for day, question_id, value, suspect, n in daily:
        current = start <= day <= end
        if question_id == fact.first and current:
            if suspect:
                repeated += n
            else:
                visits += n
        if suspect:
            continue
        if question is not None and question_id == question.id and current:
            per_day[day][value] = per_day[day].get(value, 0) + n
            week = _iso_week(day)
            per_week[week][value] = per_week[week].get(value, 0) + n
            distribution[value] += n
        if reasons is not None and question_id == reasons.id:
            (reasons_now if current else reasons_before)[value] += n
    entry = directory.stores.get(store_id)
    target = directory.target(store_id, index) if index != "ces" else None
    days = [d.isoformat() for d in _days(period)]
    weeks = sorted({_iso_week(d) for d in days})
    heat: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day, hour, n in hourly:
        heat[dt.date.fromisoformat(day).weekday()][int(hour)] += int(n)
    hours = entry.open_hours() if entry else list(range(24))
    seen_hours = sorted({hour for row in heat.values() for hour in row})
    hours = sorted(set(hours) | set(seen_hours))
    value = _figure(question, index, distribution)
    group_average = None
    if entry and entry.group_id:
        with rollup_reading(db) as conn:
            group_view = _overview(conn, directory, None, period, index, entry.group_id, Rows(1, 0), False)
        group_average = group_view["total"]["value"]
    top = sorted(reasons_now.items(), key=lambda kv: (-kv[1], kv[0]))
    labels = {o.id: o.text for o in reasons.options} if reasons else {}
    return {
        "store": store_id,
        "name": entry.name if entry else store_id,
        "group": entry.group_id if entry else None,
        "timezone": entry.timezone if entry else None,
        "from": start,
        "to": end,
        "index": index,
        "responses": visits,
        "repeated_presses": repeated,
        "value": value,
        "target": target,
        "group_average": group_average,
        "daily": [
            {
                "day": d,
                "value": _figure(question, index, per_day.get(d, {})),
                "answers": sum(per_day.get(d, {}).values()),
            }
            for d in days
        ],
        "weekly": [
            {
                "week": w,
                "value": _figure(question, index, per_week.get(w, {})),
                "answers": sum(per_week.get(w, {}).values()),
            }
            for w in weeks
        ],
        "heatmap": {
            "hours": hours,
            "rows": [[heat[wd][hour] for hour in hours] for wd in range(7)],
        },
        "distribution": {v: distribution.get(v, 0) for v in (question.values if question else ())},
        "reasons": [
            {"reason": r, "label": labels.get(r, {}), "count": n, "previous": reasons_before.get(r, 0)}
            for r, n in top
        ],
        "devices": [_device(d, entry, current=served) for d in device_rows],
    }


def _days(period: Period) -> list[dt.date]:
    return [period.start + dt.timedelta(days=i) for i in range(period.days)]


# -- fleet ------------------------------------------------------------------------------------------------


def _age_s(stamp: str | None, now: dt.datetime) -> int | None:
    if not stamp:
        return None
    try:
        return max(0, int((now - dt.datetime.fromisoformat(stamp)).total_seconds()))
    except (ValueError, TypeError):
        return None


def _device(
    row: Any, entry: Any, now: dt.datetime | None = None, current: int | None = None
) -> dict[str, Any]:
    """One device's health; `current`: the configuration version its store serves (the rollout)."""
    now = now or dt.datetime.now(dt.UTC)
    seen = dt.datetime.fromisoformat(row.last_seen_at) if row.last_seen_at else None
    online = seen is not None and now - seen <= ONLINE_WITHIN
    open_now = False
    if entry is not None:
        open_now = entry.open_at(now.astimezone(ZoneInfo(entry.timezone)))
    return {
        "store": row.store_id,
        "device": row.device_id,
        "revoked": bool(row.revoked),
        "last_seen_at": row.last_seen_at,
        "online": online,
        "silent_while_open": bool(open_now and not online and not row.revoked),
        "app_version": row.app_version,
        "pending": row.pending,
        "quarantined": row.quarantined,
        "free_disk_bytes": row.free_disk_bytes,
        "clock_skew_s": row.clock_skew_s,
        "last_error": row.last_error,
        # When the oldest answer still to send was made (central's clock) and its age now: a device that
        # stopped sending shows it growing even while its heartbeat is late.
        "oldest_unsynced_at": row.oldest_unsynced_at,
        "oldest_unsynced_age_s": _age_s(row.oldest_unsynced_at, now),
        "config_current": current,
        "config_status": rollout_status(current, row),
        "config_version": row.config_version,
        "config_applied_at": row.config_applied_at,
        "config_refused_version": row.config_refused_version,
        "config_refused_reason": row.config_refused_reason,
    }


def fleet(db: CentralDB, visible: frozenset[str] | None, now: dt.datetime) -> dict[str, Any]:
    """Every device of the scope with its health; "silent while open": not seen within the hour while its
    store is open (directory's opening hours, store-local time)."""
    directory = load_directory(db)
    with db.reading() as conn:
        rows = conn.execute(select(devices).order_by(devices.c.store_id, devices.c.device_id)).all()
        served = dict(conn.execute(select(stores.c.id, stores.c.config_version)).all())
    result = [
        {
            **_device(r, directory.stores.get(r.store_id), now, served.get(r.store_id)),
            "store_name": (
                directory.stores[r.store_id].name if r.store_id in directory.stores else r.store_id
            ),
        }
        for r in rows
        if visible is None or r.store_id in visible
    ]
    result.sort(key=lambda d: (not d["silent_while_open"], d["online"], d["store"], d["device"]))
    return {
        "at": now.isoformat(timespec="seconds"),
        "devices": result,
        "silent_while_open": sum(d["silent_while_open"] for d in result),
        "online": sum(d["online"] for d in result),
    }
