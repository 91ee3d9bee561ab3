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
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kiosk.domain.days import parse_stored
from kiosk.domain.survey import Display, Kind, Question, Survey
from kiosk.storage import NewAnswer

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
                file=name, when=at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), reason=reason
            )
        )
    return tuple(lines)


def storage_fine() -> StorageState:
    return StorageState()


# -- the shopper's visit ------------------------------------------------------------------------------------


class Recorder(Protocol):
    def __call__(self, new: NewAnswer, /) -> object: ...


@dataclass(slots=True)
class SurveyFlow:
    """One visit after another: which question is on screen, what was answered, when to start over.

    An answer is recorded (committed) before the flow moves on, so the next screen never shows before the
    tap is safe; when the database cannot write, `record` holds it in memory instead (kiosk.holding) and
    the shopper is thanked all the same. Taps while "thank you" shows are ignored.
    """

    survey: Survey
    record: Recorder
    display: Display = field(default_factory=Display)
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
            NewAnswer(
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
            if now - self.thanking_since >= self.display.thank_you_seconds:
                self.reset(now)
                return True
            return False
        if not self.at_start and now - self.last_activity >= self.display.idle_timeout_seconds:
            self.reset(now)
            return True
        return False

    def reset(self, now: float) -> None:
        """A fresh visit in the default language; what was answered stays stored."""
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


def targets(question: Question, language: str, translate: Translate) -> list[Target]:
    """The answers a question offers on screen, in display order."""
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
    if question.kind is Kind.NPS:
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
    """Digits typed on the pad; 5 wrong PINs in a row lock it for 60 seconds."""

    verify: Callable[[str], bool] | None
    max_attempts: int = 5
    lock_seconds: float = 60.0
    max_length: int = 8
    entered: str = ""
    failures: int = 0
    locked_until: float = 0.0

    def locked_for(self, now: float) -> float:
        return max(0.0, self.locked_until - now)

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
            self.failures = 0
            return PinOutcome.ACCEPTED
        self.failures += 1
        if self.failures >= self.max_attempts:
            self.failures = 0
            self.locked_until = now + self.lock_seconds
            return PinOutcome.LOCKED
        return PinOutcome.WRONG

    def message(self, outcome: PinOutcome | None, now: float, language: str, translate: Translate) -> str:
        wait = self.locked_for(now)
        if self.verify is None:
            return translate(language, "No PIN is set: run `kiosk set-pin` on this device.")
        if wait > 0:
            return translate(language, "Too many wrong PINs. Try again in {seconds} s.").format(
                seconds=int(wait + 0.999)
            )
        if outcome is PinOutcome.WRONG:
            left = self.max_attempts - self.failures
            return translate(language, "Wrong PIN ({left} tries left).").format(left=left)
        return translate(language, "Enter the manager PIN")


# -- the manager dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    value: str


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
class DashboardView:
    title: str
    tiles: tuple[Tile, ...]
    distribution: Bars | None
    hourly: Bars
    trend: Trend | None
    reasons: tuple[tuple[str, int], ...]
    reasons_title: str
    sync_lines: tuple[str, ...]
    storage_lines: tuple[str, ...] = ()


TREND_DAYS = 14


def _fmt(value: float | None, suffix: str = "", signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}{suffix}" if signed else f"{value:.1f}{suffix}"


def dashboard_view(
    survey: Survey,
    scores: Mapping[str, Any],
    today_answers: Iterable[Mapping[str, Any]],
    tz: ZoneInfo,
    sync: SyncState,
    language: str,
    translate: Translate,
    storage: StorageState | None = None,
) -> DashboardView:
    """The manager screen's figures. `scores` is `Kiosk.scores(today - 13 days, today)`, the same dict as
    `kiosk scores --json`, so both always agree; `today_answers` are today's stored answers (for the hourly
    pattern, which daily counts cannot give)."""
    from kiosk.ui import theme

    def t(message: str) -> str:
        return translate(language, message)

    days = scores["days"]
    today = days[-1]
    first = survey.questions[0]
    smiley = next((q for q in survey.questions if q.kind in (Kind.SMILEY5, Kind.SMILEY4)), None)
    nps = next((q for q in survey.questions if q.kind is Kind.NPS), None)
    reasons_q = next((q for q in survey.questions if q.kind is Kind.CHOICE), None)

    first_today = today["questions"][first.id]
    excluded = sum(q["excluded"] for q in today["questions"].values() if q)
    tiles = [Tile(t("Responses today"), str(first_today["responses"]))]
    if smiley is not None:
        figures = today["questions"][smiley.id]
        tiles.append(Tile(t("CSAT"), _fmt(figures["csat"], "%")))
        tiles.append(Tile(t("Happy Index"), _fmt(figures["happy_index"])))
    if nps is not None:
        tiles.append(Tile(t("NPS"), _fmt(today["questions"][nps.id]["nps"], signed=True)))
    tiles.append(Tile(t("Repeated presses (excluded)"), str(excluded)))

    distribution = None
    headline = smiley or nps or next((q for q in survey.questions if q.scale is not None), None)
    if headline is not None and headline.scale is not None:
        dist = today["questions"][headline.id]["distribution"]
        low, high = headline.scale
        values = range(low, high + 1)
        if headline.kind in (Kind.SMILEY5, Kind.SMILEY4):
            colours = tuple(theme.smiley_colour(v, high) for v in values)
        elif headline.kind is Kind.NPS:
            colours = tuple(theme.nps_zone_colour(v) for v in values)
        else:
            colours = tuple(theme.NEUTRAL_SCALE for _ in values)
        distribution = Bars(
            t("Answers today"),
            tuple(str(v) for v in values),
            tuple(int(dist[str(v)]) for v in values),
            colours,
        )

    hours = Counter(
        parse_stored(row["created_at"]).astimezone(tz).hour
        for row in today_answers
        if row["question_id"] == first.id and not row["suspect"]
    )
    shown_hours = range(6, 23)  # store opening hours; answers outside still count in the tiles
    hourly = Bars(
        t("Visits per hour today"),
        tuple(f"{h}" for h in shown_hours),
        tuple(hours.get(h, 0) for h in shown_hours),
        tuple(theme.NEUTRAL_SCALE for _ in shown_hours),
    )

    trend = None
    if smiley is not None:
        trend = Trend(
            t("CSAT, last 14 days"),
            tuple(day["day"][8:10] for day in days),
            tuple(day["questions"][smiley.id]["csat"] for day in days),
            0.0,
            100.0,
        )
    elif nps is not None:
        trend = Trend(
            t("NPS, last 14 days"),
            tuple(day["day"][8:10] for day in days),
            tuple(day["questions"][nps.id]["nps"] for day in days),
            -100.0,
            100.0,
        )

    reasons: list[tuple[str, int]] = []
    if reasons_q is not None:
        totals: Counter[str] = Counter()
        for day in days:
            totals.update(day["questions"][reasons_q.id]["counts"])
        names = {o.id: o.text.get(language, o.id) for o in reasons_q.options}
        reasons = [(names.get(k, k), n) for k, n in totals.most_common(5) if n > 0]

    return DashboardView(
        title=f"{scores['store_name']} · {today['day']}",
        tiles=tuple(tiles),
        distribution=distribution,
        hourly=hourly,
        trend=trend,
        reasons=tuple(reasons),
        reasons_title=t("Top reasons, last 14 days"),
        sync_lines=sync_lines(sync, tz, language, translate),
        storage_lines=storage_lines(storage or StorageState(), tz, language, translate),
    )


def sync_lines(sync: SyncState, tz: ZoneInfo, language: str, translate: Translate) -> tuple[str, ...]:
    def t(message: str) -> str:
        return translate(language, message)

    if not sync.configured:
        return (t("Sync: not configured"),)
    last = "—" if sync.last_success is None else sync.last_success.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    lines = [
        t("Sync: {pending} answers pending").format(pending=sync.pending),
        t("Last success: {when}").format(when=last),
    ]
    if sync.quarantined:
        lines.append(t("Refused by head office: {count}").format(count=sync.quarantined))
    if sync.last_error:
        lines.append(t("Last error: {error}").format(error=sync.last_error))
    return tuple(lines)


def trend_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=TREND_DAYS - 1)
