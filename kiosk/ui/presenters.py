"""Screen logic without Kivy: the shopper's visit, the manager PIN pad and the dashboard's figures.

Each presenter takes the time as an argument (`now`: monotonic seconds for timeouts, `at`: aware wall-clock
datetime for stored answers), so the tests drive timeouts without sleeping. The screens only read the clock
and forward taps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from kiosk.domain.survey import (
    Display,
    Followup,
    Kind,
    KioskConfig,
    Question,
    Survey,
    Targets,
    default_low_at_most,
)
from kiosk.pin import FREE_TRIES, Lockout, PinState, lock_seconds

if TYPE_CHECKING:
    from kiosk.ui.i18n import Translator

THANKS = "thanks"

Translate = Callable[[str, str], str]


# -- sync state ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the manager sees of the upload to head office."""

    configured: bool
    pending: int = 0
    last_success: dt.datetime | None = None
    last_error: str | None = None
    quarantined: int = 0  # answers head office refused (kept; `kiosk sync --requeue` sends them again)
    quarantine_reasons: tuple[str, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert head office has open for this store (sent with the heartbeat's reply; see sync/alerts.py)."""

    id: str
    rule: str
    opened_at: dt.datetime
    summary: str


class SyncStatus(Protocol):
    """Handed in by the composition root; the UI never imports the sync code. Must answer at once (no
    network): it reports what the sync job last saw."""

    def __call__(self) -> SyncState: ...


def sync_not_configured() -> SyncState:
    return SyncState(configured=False)


# -- storage state ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorageState:
    """What the manager sees of the database: answers held in memory while it cannot write, and damaged
    databases kept aside at start. The default is all well."""

    held: int = 0
    refused: int = 0
    rejected: int = 0
    problem: str | None = None
    set_aside: tuple[tuple[str, str, dt.datetime], ...] = ()  # (kept file name, why, when)


def storage_lines(
    storage: StorageState, tz: ZoneInfo, language: str, translate: Translate
) -> tuple[str, ...]:
    def t(message: str) -> str:
        return translate(language, message)

    lines = []
    if storage.held:
        lines.append(
            t("STORAGE PROBLEM: {held} answers held in memory, not saved yet ({problem})").format(
                held=storage.held, problem=storage.problem or "—"
            )
        )
    elif storage.problem:
        lines.append(t("STORAGE PROBLEM: {problem}").format(problem=storage.problem))
    if storage.refused:
        lines.append(
            t("{refused} taps NOT kept: the memory for held answers was full").format(refused=storage.refused)
        )
    if storage.rejected:
        lines.append(
            t("{rejected} held answers refused when saved (survey changed)").format(rejected=storage.rejected)
        )
    for name, reason, at in storage.set_aside:
        lines.append(
            t("Damaged database kept aside as {file} on {when} ({reason}); a fresh one was started").format(
                file=name, when=Formats(language).when(at.astimezone(tz)), reason=reason
            )
        )
    return tuple(lines)


def storage_fine() -> StorageState:
    return StorageState()


# -- the shopper's visit ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Given:
    """An answer given on screen, as the visit hands it to the tap path (the composition root stores it)."""

    question_id: str
    value: object
    created_at: dt.datetime
    session_id: str
    language: str


class Recorder(Protocol):
    def __call__(self, given: Given, /) -> object: ...


class FollowupLinks(Protocol):
    """A visit's follow-up URL (`<public URL>/r/<token>`) for its QR code, or None: the kiosk is not paired
    or has no follow-up key yet. Made by the composition root from the sync code; must answer at once."""

    def __call__(self, session_id: str, language: str, /) -> str | None: ...


def no_followup_links(session_id: str, language: str) -> str | None:
    return None


def is_low(question: Question, value: str, followup: Followup) -> bool:
    """Whether an answer is a low score: at or below the question's configured value, else the default rule
    (the two lowest faces, 0-6 on NPS; nothing else is ever low)."""
    configured = dict(followup.low_at_most)
    at_most = configured.get(question.id, default_low_at_most(question.kind))
    if at_most is None or question.scale is None:
        return False
    try:
        return int(value) <= at_most
    except ValueError:
        return False


def low_visit(survey: Survey, followup: Followup, answers: Mapping[str, str]) -> bool:
    """Whether a visit gave a low score to any of its questions."""
    return any(q.id in answers and is_low(q, answers[q.id], followup) for q in survey.questions)


@dataclass(frozen=True, slots=True)
class ThanksView:
    """What the thank-you screen shows: the usual thanks, or after a low score the apology, with the QR code
    of `url` when the kiosk can make a follow-up link."""

    apology: bool = False
    url: str | None = None


# A tap this soon after the QR code appears is the shopper's last tap bouncing, not a wish to end it.
QR_TAP_GUARD_S = 1.0


@dataclass(slots=True)
class SurveyFlow:
    """One visit after another: which question is on screen, what was answered, when to start over.

    An answer is recorded (committed) before the flow moves on, so the next screen never shows before the
    tap is safe; when the database cannot write, `record` holds it in memory instead (kiosk.holding) and
    the shopper is thanked all the same. Taps while "thank you" shows are ignored, except on the QR code
    shown after a low score (`end_thanks`), which stays `followup.qr_seconds` instead of the usual time.
    """

    survey: Survey
    record: Recorder
    display: Display = field(default_factory=Display)
    followup: Followup = field(default_factory=Followup)
    followup_links: FollowupLinks = no_followup_links
    thanks: ThanksView = field(default_factory=ThanksView)
    language: str = ""
    session_id: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    index: int = 0
    thanking_since: float | None = None
    last_activity: float = 0.0

    def __post_init__(self) -> None:
        self.language = self.language or self.survey.default_language

    # state

    @property
    def thanking(self) -> bool:
        return self.thanking_since is not None

    @property
    def question(self) -> Question | None:
        return None if self.thanking else self.survey.questions[self.index]

    @property
    def at_start(self) -> bool:
        return self.session_id is None and not self.thanking and self.index == 0

    @property
    def screen_name(self) -> str:
        question = self.question
        return THANKS if question is None else question_screen_name(question)

    # events

    def touch(self, now: float) -> None:
        self.last_activity = now

    def set_language(self, language: str, now: float) -> bool:
        """Switch language; only before the first answer, since a visit records one language."""
        self.touch(now)
        if not self.at_start or language not in self.survey.languages:
            return False
        self.language = language
        return True

    def answer(self, value: object, at: dt.datetime, now: float) -> bool:
        """Record an answer to the question on screen and move on; False when the tap is ignored."""
        question = self.question
        if question is None:
            return False
        self.touch(now)
        session_id = self.session_id or str(uuid.uuid4())
        self.record(
            Given(
                question_id=question.id,
                value=value,
                created_at=at,
                session_id=session_id,
                language=self.language,
            )
        )
        # Only once the answer is stored does the visit change.
        self.session_id = session_id
        self.answers[question.id] = str(value)
        self._advance(now)
        return True

    def skip(self, now: float) -> bool:
        """Leave the question on screen unanswered (a shopper with no reason to give)."""
        if self.question is None:
            return False
        self.touch(now)
        self._advance(now)
        return True

    def tick(self, now: float) -> bool:
        """Start over when "thank you" has shown long enough or the shopper walked away; True if it did."""
        if self.thanking_since is not None:
            if now - self.thanking_since >= self.thanks_seconds:
                self.reset(now)
                return True
            return False
        if not self.at_start and now - self.last_activity >= self.display.idle_timeout_seconds:
            self.reset(now)
            return True
        return False

    @property
    def thanks_seconds(self) -> float:
        return self.followup.qr_seconds if self.thanks.url else self.display.thank_you_seconds

    def end_thanks(self, now: float) -> bool:
        """A tap on the QR code's screen ends it (once it has shown a moment); True if it did."""
        since = self.thanking_since
        if since is None or self.thanks.url is None or now - since < QR_TAP_GUARD_S:
            return False
        self.reset(now)
        return True

    def reset(self, now: float) -> None:
        """A fresh visit in the default language; what was answered stays stored."""
        self.thanks = ThanksView()
        self.session_id = None
        self.answers = {}
        self.index = 0
        self.thanking_since = None
        self.language = self.survey.default_language
        self.last_activity = now

    def _advance(self, now: float) -> None:
        for index in range(self.index + 1, len(self.survey.questions)):
            if self._asked(self.survey.questions[index]):
                self.index = index
                return
        self.thanking_since = now
        self.thanks = self._thanks_view()

    def _thanks_view(self) -> ThanksView:
        if not self.followup.enabled or not low_visit(self.survey, self.followup, self.answers):
            return ThanksView()
        url = None if self.session_id is None else self.followup_links(self.session_id, self.language)
        return ThanksView(apology=True, url=url)

    def _asked(self, question: Question) -> bool:
        rule = question.show_if
        if rule is None:
            return True
        given = self.answers.get(rule.question)
        return given is not None and rule.holds(int(given))


def question_screen_name(question: Question) -> str:
    return f"question-{question.id}"


# -- what the shopper screens show --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One tappable answer: the value to record, its caption and its colours."""

    value: str
    caption: str
    background: str
    foreground: str
    image: int | None = None  # which drawn face (1..5), for smiley questions


FACE_CAPTIONS = {
    1: "Very unhappy",
    2: "Unhappy",
    3: "Neutral",
    4: "Happy",
    5: "Very happy",
}


def targets(question: Question, language: str, translate: Translate, zones: bool = False) -> list[Target]:
    """The answers a question offers on screen, in display order. 0-10 buttons share one neutral colour
    (zone colours nudge answers) unless `zones` (display.scale_colours = "zones")."""
    from kiosk.ui import theme

    if question.kind in (Kind.SMILEY5, Kind.SMILEY4):
        high = 5 if question.kind is Kind.SMILEY5 else 4
        result = []
        for value in range(1, high + 1):
            face = theme.face_image_index(value, high)
            result.append(
                Target(
                    value=str(value),
                    caption=translate(language, FACE_CAPTIONS[face]),
                    background=theme.BACKGROUND,
                    foreground=theme.TEXT,
                    image=face,
                )
            )
        return result
    if question.kind is Kind.NPS and zones:
        return [
            Target(
                value=str(v),
                caption=str(v),
                background=theme.nps_zone_colour(v),
                foreground=theme.text_on(theme.nps_zone_colour(v)),
            )
            for v in range(11)
        ]
    if question.scale is not None:
        low, high = question.scale
        return [
            Target(str(v), str(v), theme.NEUTRAL_SCALE, theme.text_on(theme.NEUTRAL_SCALE))
            for v in range(low, high + 1)
        ]
    return [
        Target(
            option.id,
            option.text.get(language, option.id),
            theme.BUTTON,
            theme.text_on(theme.BUTTON),
        )
        for option in question.options
    ]


def scale_ends(question: Question, language: str, translate: Translate) -> tuple[str, str]:
    """The captions under both ends of a numeric scale."""
    if question.kind is Kind.NPS:
        return translate(language, "Not at all likely"), translate(language, "Extremely likely")
    if question.kind is Kind.CES7:
        return translate(language, "Strongly disagree"), translate(language, "Strongly agree")
    return "", ""


# -- the manager PIN pad -------------------------------------------------------------------------------------


class PinOutcome(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"
    NO_PIN = "no_pin"
    INCOMPLETE = "incomplete"


@dataclass(slots=True)
class PinPad:
    """Digits typed on the pad. From the fifth wrong PIN in a row, each wrong PIN locks the pad, for longer
    each time (kiosk.pin.lock_seconds); `saved` is told every change of the count, so that the lockout
    survives a restart. `now` is wall-clock epoch seconds. `problem`: why no PIN can be checked (an
    unreadable PIN file)."""

    verify: Callable[[str], bool] | None
    failures: int = 0
    locked_until: float = 0.0
    problem: str | None = None
    saved: Callable[[int, float], object] = lambda failures, until: None
    max_length: int = 8
    entered: str = ""

    def locked_for(self, now: float) -> float:
        # A clock set back never makes the wait longer than the lock itself.
        return max(0.0, min(self.locked_until - now, lock_seconds(self.failures)))

    def press(self, digit: str, now: float) -> None:
        if self.locked_for(now) > 0 or len(self.entered) >= self.max_length or not digit.isdigit():
            return
        self.entered += digit

    def erase(self) -> None:
        self.entered = self.entered[:-1]

    def clear(self) -> None:
        self.entered = ""

    def submit(self, now: float) -> PinOutcome:
        if self.verify is None:
            self.clear()
            return PinOutcome.NO_PIN
        if self.locked_for(now) > 0:
            self.clear()
            return PinOutcome.LOCKED
        if len(self.entered) < 4:
            return PinOutcome.INCOMPLETE
        entered, self.entered = self.entered, ""
        if self.verify(entered):
            self.failures, self.locked_until = 0, 0.0
            self.saved(0, 0.0)
            return PinOutcome.ACCEPTED
        self.failures += 1
        wait = lock_seconds(self.failures)
        self.locked_until = now + wait if wait else 0.0
        self.saved(self.failures, self.locked_until)
        return PinOutcome.LOCKED if wait else PinOutcome.WRONG

    def message(self, outcome: PinOutcome | None, now: float, language: str, translate: Translate) -> str:
        wait = self.locked_for(now)
        if self.verify is None and self.problem is not None:
            return translate(language, "The PIN file cannot be read: set the PIN again with `kiosk set-pin`.")
        if self.verify is None:
            return translate(language, "No PIN is set: run `kiosk set-pin` on this device.")
        if wait > 0:
            return translate(language, "Too many wrong PINs. Try again in {seconds} s.").format(
                seconds=int(wait + 0.999)
            )
        if outcome is PinOutcome.WRONG:
            left = FREE_TRIES + 1 - self.failures
            return translate(language, "Wrong PIN ({left} tries left).").format(left=left)
        return translate(language, "Enter the manager PIN")


# -- the manager dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tile:
    """A figure; `note` is its target and the gap to it, `good` whether the figure meets the target."""

    label: str
    value: str
    note: str = ""
    good: bool | None = None


@dataclass(frozen=True, slots=True)
class Bars:
    """A bar chart: one bar per label; `colours` per bar."""

    title: str
    labels: tuple[str, ...]
    values: tuple[int, ...]
    colours: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    """A line over days; None where a day has no answers (a gap, never a 0)."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Period:
    days: int
    label: str
    chosen: bool


@dataclass(frozen=True, slots=True)
class DashboardView:
    title: str
    tiles: tuple[Tile, ...]
    distribution: Bars | None
    hourly: Bars
    csat_trend: Trend | None
    nps_trend: Trend | None
    reasons: tuple[tuple[str, str], ...]  # (count as shown, reason)
    reasons_title: str
    sync_lines: tuple[str, ...]
    storage_lines: tuple[str, ...] = ()
    periods: tuple[Period, ...] = ()
    alert_lines: tuple[str, ...] = ()


# The manager's periods (days, today included) and how many days the trends show for each.
PERIODS = (1, 7, 30)
TREND_DAYS = {1: 14, 7: 14, 30: 30}
PERIOD_LABELS = {1: "Today", 7: "7 days", 30: "30 days"}


def scores_start(today: dt.date) -> dt.date:
    """The first day the dashboard needs scores for, whatever the period (`Kiosk.scores(start, today)`)."""
    return today - dt.timedelta(days=max(TREND_DAYS.values()) - 1)


class Formats:
    """Numbers and dates in the manager's language (Babel, loaded when the dashboard first opens)."""

    def __init__(self, language: str) -> None:
        from babel import Locale, UnknownLocaleError

        try:
            self.locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            self.locale = Locale.parse("en")
        self._percent = self.locale.percent_formats[None].pattern.replace("#,##0", "#,##0.0")

    def count(self, value: int) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=self.locale))

    def decimal(self, value: float | None, signed: bool = False) -> str:
        from babel.numbers import format_decimal

        if value is None:
            return "—"
        return str(
            format_decimal(value, format="+#,##0.0;-#,##0.0" if signed else "#,##0.0", locale=self.locale)
        )

    def percent(self, value: float | None) -> str:
        from babel.numbers import format_percent

        if value is None:
            return "—"
        return str(format_percent(value / 100, format=self._percent, locale=self.locale))

    def date(self, day: dt.date) -> str:
        from babel.dates import format_date

        return str(format_date(day, format="medium", locale=self.locale))

    def day_of_month(self, day: dt.date) -> str:
        from babel.dates import format_date

        return str(format_date(day, format="d", locale=self.locale))

    def when(self, at: dt.datetime) -> str:
        from babel.dates import format_datetime

        return str(format_datetime(at, format="short", locale=self.locale))


def summed(days: Iterable[Mapping[str, Any]], question: Question) -> tuple[dict[str, int], int]:
    """A question's answer counts over several days of `kiosk scores --json`, and its excluded count."""
    counts: Counter[str] = Counter()
    excluded = 0
    for day in days:
        figures = day["questions"][question.id]
        # A typed comment has no counts by value: it is never part of a figure.
        counts.update(figures["distribution"] if question.scale is not None else figures.get("counts", {}))
        excluded += figures["excluded"]
    return dict(counts), excluded


def local_hours(quarters: Iterable[tuple[dt.datetime, int]], tz: ZoneInfo) -> Counter[int]:
    """Visits per local hour from counts per UTC quarter-hour (every time zone is a whole quarter off)."""
    hours: Counter[int] = Counter()
    for start, count in quarters:
        hours[start.astimezone(tz).hour] += count
    return hours


def dashboard_view(
    survey: Survey,
    scores: Mapping[str, Any],
    period: int,
    quarters: Iterable[tuple[dt.datetime, int]],
    tz: ZoneInfo,
    sync: SyncState,
    language: str,
    translate: Translate,
    storage: StorageState | None = None,
    targets: Targets | None = None,
) -> DashboardView:
    """The manager screen's figures over the last `period` days (today included).

    `scores` is `Kiosk.scores(scores_start(today), today)`, the same dict as `kiosk scores --json`: every
    tile and chart is made from it (a period's figures from its summed counts), so both always agree.
    `quarters` are the period's kept visits (first answers) per UTC quarter-hour, for the hourly pattern.
    "Responses" and "repeated presses" are visits: answers to the survey's first question.
    """
    from kiosk.domain.scoring import question_scores
    from kiosk.ui import theme

    def t(message: str) -> str:
        return translate(language, message)

    fmt = Formats(language)
    goals = targets or Targets()
    days = scores["days"]
    chosen = days[-period:]
    today = dt.date.fromisoformat(days[-1]["day"])
    first = survey.questions[0]
    smiley = next((q for q in survey.questions if q.kind in (Kind.SMILEY5, Kind.SMILEY4)), None)
    nps = next((q for q in survey.questions if q.kind is Kind.NPS), None)
    reasons_q = next((q for q in survey.questions if q.kind is Kind.CHOICE), None)
    label = {1: t("today"), 7: t("last 7 days"), 30: t("last 30 days")}.get(period, str(period))

    def figures(question: Question) -> dict[str, Any]:
        counts, excluded = summed(chosen, question)
        return question_scores(question, counts, excluded)

    def goal(value: float | None, target: float | None, as_percent: bool) -> tuple[str, bool | None]:
        if target is None:
            return "", None
        shown = (
            fmt.percent(target) if as_percent else fmt.decimal(target, signed=not as_percent and target < 0)
        )
        note = t("Target {target}").format(target=shown)
        if value is None:
            return note, None
        gap = round(value - target, 1)
        return f"{note} · {fmt.decimal(gap, signed=True)}", gap >= 0

    visits = figures(first)
    tiles = [Tile(t("Responses"), fmt.count(visits["responses"]))]
    if smiley is not None:
        sat = figures(smiley)
        tiles.append(Tile(t("CSAT"), fmt.percent(sat["csat"]), *goal(sat["csat"], goals.csat, True)))
        tiles.append(
            Tile(
                t("Happy Index"),
                fmt.decimal(sat["happy_index"]),
                *goal(sat["happy_index"], goals.happy_index, False),
            )
        )
    if nps is not None:
        score = figures(nps)["nps"]
        tiles.append(Tile(t("NPS"), fmt.decimal(score, signed=True), *goal(score, goals.nps, False)))
    tiles.append(Tile(t("Repeated presses (excluded)"), fmt.count(visits["excluded"])))

    distribution = None
    headline = smiley or nps or next((q for q in survey.questions if q.scale is not None), None)
    if headline is not None and headline.scale is not None:
        dist = figures(headline)["distribution"]
        low, high = headline.scale
        values = range(low, high + 1)
        if headline.kind in (Kind.SMILEY5, Kind.SMILEY4):
            colours = tuple(theme.smiley_colour(v, high) for v in values)
        elif headline.kind is Kind.NPS:
            colours = tuple(theme.nps_zone_colour(v) for v in values)
        else:
            colours = tuple(theme.NEUTRAL_SCALE for _ in values)
        distribution = Bars(
            t("Answers, {period}").format(period=label),
            tuple(str(v) for v in values),
            tuple(int(dist[str(v)]) for v in values),
            colours,
        )

    hours = local_hours(quarters, tz)
    hourly = Bars(
        t("Visits per hour, {period}").format(period=label),
        tuple(str(h) for h in range(24)),
        tuple(hours.get(h, 0) for h in range(24)),
        tuple(theme.NEUTRAL_SCALE for _ in range(24)),
    )

    trend_days = days[-TREND_DAYS.get(period, 14) :]
    trend_labels = tuple(fmt.day_of_month(dt.date.fromisoformat(day["day"])) for day in trend_days)
    csat_trend = nps_trend = None
    if smiley is not None:
        csat_trend = Trend(
            t("CSAT, last {days} days").format(days=len(trend_days)),
            trend_labels,
            tuple(day["questions"][smiley.id]["csat"] for day in trend_days),
            0.0,
            100.0,
        )
    if nps is not None:
        nps_trend = Trend(
            t("NPS, last {days} days").format(days=len(trend_days)),
            trend_labels,
            tuple(day["questions"][nps.id]["nps"] for day in trend_days),
            -100.0,
            100.0,
        )

    reasons: list[tuple[str, str]] = []
    if reasons_q is not None:
        totals = Counter(summed(chosen, reasons_q)[0])
        names = {o.id: o.text.get(language, o.id) for o in reasons_q.options}
        reasons = [(fmt.count(n), names.get(k, k)) for k, n in totals.most_common(5) if n > 0]

    return DashboardView(
        title=f"{scores['store_name']} · {fmt.date(today)}",
        tiles=tuple(tiles),
        distribution=distribution,
        hourly=hourly,
        csat_trend=csat_trend,
        nps_trend=nps_trend,
        reasons=tuple(reasons),
        reasons_title=t("Top reasons, {period}").format(period=label),
        sync_lines=sync_lines(sync, tz, language, translate),
        storage_lines=storage_lines(storage or StorageState(), tz, language, translate),
        periods=tuple(Period(days, t(PERIOD_LABELS[days]), days == period) for days in PERIODS),
        alert_lines=alert_lines(sync.alerts, tz, fmt, language, translate),
    )


def alert_lines(
    alerts: Iterable[Alert], tz: ZoneInfo, fmt: Formats, language: str, translate: Translate
) -> tuple[str, ...]:
    return tuple(
        translate(language, "Open alert since {when}: {summary}").format(
            when=fmt.when(alert.opened_at.astimezone(tz)), summary=alert.summary
        )
        for alert in alerts
    )


def sync_lines(sync: SyncState, tz: ZoneInfo, language: str, translate: Translate) -> tuple[str, ...]:
    def t(message: str) -> str:
        return translate(language, message)

    if not sync.configured:
        return (t("Sync: not configured"),)
    last = "—" if sync.last_success is None else Formats(language).when(sync.last_success.astimezone(tz))
    lines = [
        t("Sync: {pending} answers pending").format(pending=sync.pending),
        t("Last success: {when}").format(when=last),
    ]
    if sync.quarantined:
        lines.append(t("Refused by head office: {count}").format(count=sync.quarantined))
    if sync.last_error:
        lines.append(t("Last error: {error}").format(error=sync.last_error))
    return tuple(lines)


# -- what the composition root hands to the screens ------------------------------------------------------------


@dataclass(slots=True)
class UiDeps:
    """Everything the screens need, built by kiosk.bootstrap (the composition root) and handed down."""

    config: KioskConfig
    record: Recorder
    scores: Callable[[dt.date, dt.date], Mapping[str, Any]]
    # Kept visits per UTC quarter-hour over store-local days (start, end): the dashboard's hourly pattern.
    visits_by_quarter: Callable[[dt.date, dt.date], list[tuple[dt.datetime, int]]]
    today: Callable[[dt.datetime], dt.date]
    # Read when the PIN pad opens, so that `kiosk set-pin` takes effect without a restart.
    pin_state: Callable[[], PinState]
    export_csv: Callable[[dt.datetime], Path]
    translator: Translator
    # The clocks: wall-clock time for stored answers and the PIN lockout, monotonic seconds for timeouts.
    wall: Callable[[], dt.datetime]
    monotonic: Callable[[], float]
    logo: Path | None = None
    sync_status: SyncStatus = sync_not_configured
    # The database's state for the manager (answers held in memory, damaged files kept aside); at once.
    storage_status: Callable[[], StorageState] = storage_fine
    # Called on every tick with monotonic seconds: writes answers held in memory when it is time to retry.
    retry_storage: Callable[[float], object] = lambda now: 0
    # Asked when the kiosk is idle on its start screen: fresh deps when a new configuration (pulled from
    # head office) has just been applied, else None. Must answer at once.
    new_config: Callable[[], UiDeps | None] = lambda: None
    # The lockout after wrong PINs, kept on disk across restarts (kiosk.pin).
    pin_lockout: Callable[[], Lockout] = Lockout
    save_pin_lockout: Callable[[int, float], object] = lambda failures, until: None
    # Told when a visit has ended (the start screen is back): the repeated-press rule judges it then.
    visit_ended: Callable[[dt.datetime], object] = lambda at: None
    # After a low score: the visit's follow-up URL for the QR code, or None (not paired, no key yet).
    followup_links: FollowupLinks = no_followup_links
