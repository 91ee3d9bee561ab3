"""The one check of an answer, used by the tap, `kiosk import` and head office's ingest alike.

`check_answer` says whether a survey accepts an answer in a visit: the question is known, the value is valid
for its kind, the visit has no answer to that question yet, and `show_if` is honoured when the answer it
names is in the visit (a visit whose earlier answer was pruned or sent in another batch cannot be checked,
so it is let through). Pure: no IO, no clock.

`survey_definition` carries a survey version as plain data (what the kiosk keeps in its history and sends to
head office); `kiosk.config.survey_from_definition` reads it back with kiosk.toml's own checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.domain.survey import AnswerError, Question, Survey

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
        check_in_visit(question, visit)
    return question, stored


def check_in_visit(question: Question, visit: Mapping[str, str]) -> None:
    """The part of `check_answer` that looks at the visit, for an answer already checked on its own."""
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
