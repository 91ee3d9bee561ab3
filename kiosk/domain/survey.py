"""The survey model: questions of a few kinds, their texts per language, and how an answer is checked."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from kiosk.domain.limits import MAX_TEXT


class Kind(StrEnum):
    SMILEY5 = "smiley5"
    SMILEY4 = "smiley4"
    NPS = "nps"
    CES7 = "ces7"
    CHOICE = "choice"
    # A comment typed on the kiosk's on-screen keyboard: stored as typed (cleaned), never scored.
    TEXT = "text"


# Inclusive ranges of the numeric kinds.
SCALES: Mapping[Kind, tuple[int, int]] = {
    Kind.SMILEY5: (1, 5),
    Kind.SMILEY4: (1, 4),
    Kind.NPS: (0, 10),
    Kind.CES7: (1, 7),
}


class AnswerError(ValueError):
    """An answer that the survey cannot accept (unknown question, value out of range)."""


def clean_text(raw: str) -> str:
    """A typed comment as stored: control, format and unpaired surrogate characters dropped, every run of
    white space (line breaks included) one space, trimmed, in NFC (an accent typed as a separate mark and
    the precomposed letter are the same text). Cleaning a cleaned text changes nothing."""
    kept = "".join(" " if c.isspace() else c for c in raw if c.isspace() or unicodedata.category(c)[0] != "C")
    return unicodedata.normalize("NFC", " ".join(kept.split()))


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    text: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ShowIf:
    """Ask a question only when an earlier numeric answer of the same visit lies in [low, high]."""

    question: str
    low: int
    high: int

    def holds(self, value: int) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    text: Mapping[str, str]
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    @property
    def scored(self) -> bool:
        """Whether answers to it are counted by value (a typed comment is not)."""
        return self.kind is not Kind.TEXT

    @property
    def values(self) -> tuple[str, ...]:
        """Every value this question accepts, as stored (text), in display order; none listed for `text`."""
        if self.scale is None:
            return tuple(option.id for option in self.options)
        low, high = self.scale
        return tuple(str(v) for v in range(low, high + 1))

    def normalise(self, raw: object) -> str:
        """Return the stored form of an answer, or raise AnswerError saying what is wrong."""
        if self.kind is Kind.TEXT:
            # The reason never quotes the text: a comment may hold a name or a phone number, and reasons
            # are logged and sent back to the kiosk.
            if not isinstance(raw, str):
                raise AnswerError(f"{self.id!r} takes a text; got a {type(raw).__name__}")
            text = clean_text(raw)
            if not text:
                raise AnswerError(f"{self.id!r} takes a text that is not empty (skip the question instead)")
            if len(text) > MAX_TEXT:
                raise AnswerError(
                    f"{self.id!r} takes a text of at most {MAX_TEXT} characters; got {len(text)}"
                )
            return text
        if self.scale is None:
            text = str(raw).strip()
            if text not in self.values:
                raise AnswerError(f"{self.id!r} takes one of {', '.join(self.values)}; got {text!r}")
            return text
        low, high = self.scale
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise AnswerError(f"{self.id!r} takes a whole number from {low} to {high}; got {raw!r}")
        try:
            number = int(raw.strip()) if isinstance(raw, str) else raw
        except ValueError:
            raise AnswerError(f"{self.id!r} takes a whole number from {low} to {high}; got {raw!r}") from None
        if not low <= number <= high:
            raise AnswerError(f"{self.id!r} takes a whole number from {low} to {high}; got {number}")
        return str(number)


@dataclass(frozen=True, slots=True)
class RepeatRule:
    """Visits that answer alike, each starting within `window_seconds` of the previous one's last answer,
    form a run; a run of `min_run` visits is flagged whole (see kiosk.domain.repeats). `quick_seconds`
    (off by default, not in kiosk.toml) also flags a run of two whose answers all came that fast: a variant
    the traffic simulator measured and turned down."""

    window_seconds: float = 6.0
    min_run: int = 3
    quick_seconds: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.window_seconds > 0


@dataclass(frozen=True, slots=True)
class Survey:
    questions: tuple[Question, ...]
    languages: tuple[str, ...] = ("fr", "en")
    version: str = "1"

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        known = ", ".join(q.id for q in self.questions)
        raise AnswerError(f"unknown question {question_id!r} (this survey asks: {known})")

    @property
    def default_language(self) -> str:
        return self.languages[0]


@dataclass(frozen=True, slots=True)
class Store:
    id: str
    name: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Display:
    """How the touchscreen app looks and times out (the optional `[display]` table of kiosk.toml).

    Paths are as written in the file; a relative one is taken from the data directory.
    """

    thank_you_seconds: float = 3.0
    idle_timeout_seconds: float = 20.0
    accent_colour: str = "#1F5FAF"
    logo: str | None = None
    export_dir: str | None = None
    manager_hold_seconds: float = 3.0
    # "neutral": every 0-10 button alike (survey practice: zone colours nudge answers); "zones": coloured
    # by detractor / passive / promoter.
    scale_colours: str = "neutral"


@dataclass(frozen=True, slots=True)
class Followup:
    """After a low score, the thank-you screen apologises and, on a paired kiosk with its follow-up key,
    shows a QR code for the shopper's phone (the optional `[followup]` table of kiosk.toml).

    `low_at_most`: (question id, value) pairs: an answer to that question at or below the value is low.
    Questions not named keep the default rule (`default_low_at_most`); a value below the question's scale
    makes none of its answers low.
    """

    enabled: bool = True
    qr_seconds: float = 15.0
    low_at_most: tuple[tuple[str, int], ...] = ()


def default_low_at_most(kind: Kind) -> int | None:
    """The default low-score rule: the two lowest faces of a smiley question, 0-6 (detractors) on NPS;
    None (never low) for other kinds."""
    if kind in (Kind.SMILEY5, Kind.SMILEY4):
        return 2
    if kind is Kind.NPS:
        return 6
    return None


@dataclass(frozen=True, slots=True)
class Targets:
    """The store's goals (`[targets]`), shown beside the figures on the manager screen; None: no goal."""

    nps: float | None = None
    csat: float | None = None
    happy_index: float | None = None


@dataclass(frozen=True, slots=True)
class KioskConfig:
    store: Store
    device_id: str
    survey: Survey
    repeats: RepeatRule = field(default_factory=RepeatRule)
    display: Display = field(default_factory=Display)
    targets: Targets = field(default_factory=Targets)
    followup: Followup = field(default_factory=Followup)
    # [storage] retention_days: answers are deleted this many days after head office acknowledged them.
    retention_days: int = 90
