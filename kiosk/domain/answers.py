"""The one check of an answer, used by the tap, `kiosk import` and head office's ingest alike.

`check_answer` says whether a survey accepts an answer in a visit: the question is known, the value is valid
for its kind, the visit has no answer to that question yet, and `show_if` is honoured when the answer it
names is in the visit (a visit whose earlier answer was pruned or sent in another batch cannot be checked,
so it is let through). Pure: no IO, no clock.

`survey_definition` / `survey_from_definition` carry a survey version as plain data (what the kiosk keeps in
its history and sends to head office, which checks it like `set-config` checks a file).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.domain.limits import MAX_ID, MAX_OPTIONS, MAX_SURVEY_QUESTIONS, MAX_VERSION
from kiosk.domain.survey import SCALES, AnswerError, Kind, Option, Question, ShowIf, Survey

# Visits are counted on the first question, which a typed comment (skippable, not scored) cannot stand for.
FIRST_NOT_TEXT = "a text question cannot be the first one (visits are counted on the first question)"


def check_answer(
    survey: Survey, question_id: str, value: object, visit: Mapping[str, str] | None = None
) -> tuple[Question, str]:
    """The question and the stored form of `value`, or AnswerError saying (in one line) why it is refused.

    `visit` holds the answers already stored in the same visit: question id -> stored value.
    """
    question = survey.question(question_id)
    stored = question.normalise(value)
    if visit:
        if question.id in visit:
            raise AnswerError(f"this visit already has an answer to {question.id!r}")
        rule = question.show_if
        if rule is not None and rule.question in visit:
            try:
                earlier = int(visit[rule.question])
            except ValueError:
                earlier = None
            if earlier is None or not rule.holds(earlier):
                raise AnswerError(
                    f"{question.id!r} is asked only when {rule.question!r} is {rule.low} to {rule.high}; "
                    f"this visit answered {visit[rule.question]!r}"
                )
    return question, stored


class SurveyDefinitionError(ValueError):
    """A survey definition that cannot be used; the message names the field."""


def survey_definition(survey: Survey) -> dict[str, Any]:
    """What an answer was given on: every question's id, kind, options and show_if (texts left out)."""
    return {
        "version": survey.version,
        "languages": list(survey.languages),
        "questions": [
            {
                "id": q.id,
                "kind": str(q.kind),
                "options": [o.id for o in q.options],
                "show_if": None
                if q.show_if is None
                else {"question": q.show_if.question, "min": q.show_if.low, "max": q.show_if.high},
            }
            for q in survey.questions
        ],
    }


def _id(value: Any, where: str, limit: int = MAX_ID) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit or not value.isprintable():
        raise SurveyDefinitionError(f"{where}: must be a text of 1 to {limit} characters")
    return value


def survey_from_definition(data: Any) -> Survey:
    """The survey a definition describes, checked like a kiosk.toml's questions; SurveyDefinitionError."""
    if not isinstance(data, dict):
        raise SurveyDefinitionError("survey: must be an object")
    version = _id(data.get("version"), "survey.version", MAX_VERSION)
    languages = data.get("languages", ["fr"])
    if not isinstance(languages, list) or not languages or not all(isinstance(x, str) for x in languages):
        raise SurveyDefinitionError("survey.languages: must be a list of language codes")
    raw = data.get("questions")
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_SURVEY_QUESTIONS:
        raise SurveyDefinitionError(
            f"survey.questions: must be a list of 1 to {MAX_SURVEY_QUESTIONS} questions"
        )
    questions: list[Question] = []
    for index, item in enumerate(raw):
        where = f"survey.questions[{index}]"
        if not isinstance(item, dict):
            raise SurveyDefinitionError(f"{where}: must be an object")
        qid = _id(item.get("id"), f"{where}.id")
        if any(q.id == qid for q in questions):
            raise SurveyDefinitionError(f"{where}.id: duplicate question id {qid!r}")
        try:
            kind = Kind(str(item.get("kind")))
        except ValueError:
            raise SurveyDefinitionError(f"{where}.kind: unknown kind {item.get('kind')!r}") from None
        raw_options = item.get("options") or []
        if not isinstance(raw_options, list) or len(raw_options) > MAX_OPTIONS:
            raise SurveyDefinitionError(f"{where}.options: must be a list of at most {MAX_OPTIONS} ids")
        options = tuple(Option(_id(o, f"{where}.options"), {}) for o in raw_options)
        if (kind is Kind.CHOICE) != bool(options) or len({o.id for o in options}) != len(options):
            raise SurveyDefinitionError(f"{where}.options: a choice question (only) has distinct options")
        if kind is Kind.TEXT and not questions:
            raise SurveyDefinitionError(f"{where}.kind: {FIRST_NOT_TEXT}")
        show_if = None
        rule = item.get("show_if")
        if rule is not None:
            target = next(
                (q for q in questions if isinstance(rule, dict) and q.id == rule.get("question")), None
            )
            low, high = (rule.get("min"), rule.get("max")) if isinstance(rule, dict) else (None, None)
            scale = None if target is None else SCALES.get(target.kind)
            if (
                target is None
                or scale is None
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
                or not scale[0] <= low <= high <= scale[1]  # type: ignore[operator]
            ):
                raise SurveyDefinitionError(
                    f"{where}.show_if: must name an earlier numeric question and its range"
                )
            show_if = ShowIf(target.id, low, high)  # type: ignore[arg-type]
        questions.append(Question(id=qid, kind=kind, text={}, options=options, show_if=show_if))
    return Survey(questions=tuple(questions), languages=tuple(languages), version=version)
