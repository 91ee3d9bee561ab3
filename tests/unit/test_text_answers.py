"""The `text` question kind: a comment typed at the kiosk, cleaned and limited by the one answer check, counted
but never scored."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import survey_from_definition
from kiosk.domain.answers import SurveyDefinitionError, check_answer, survey_definition
from kiosk.domain.limits import MAX_TEXT, MAX_VALUE
from kiosk.domain.scoring import CountRow, daily_scores, question_scores
from kiosk.domain.survey import AnswerError, Kind, Question, Store, Survey, clean_text

SMILEY = Question("satisfaction", Kind.SMILEY5, {"fr": "?"})
COMMENT = Question("comment", Kind.TEXT, {"fr": "Un commentaire ?", "en": "A comment?"})
SURVEY = Survey(questions=(SMILEY, COMMENT))
STORE = Store("paris-01", "Paris", "Europe/Paris")


def test_a_typed_comment_is_stored_as_typed_accents_included() -> None:
    question, stored = check_answer(SURVEY, "comment", "  Caisse très lente, 20 min d'attente à 18h ")
    assert question.kind is Kind.TEXT
    assert stored == "Caisse très lente, 20 min d'attente à 18h"


def test_control_characters_are_dropped_and_line_breaks_become_spaces() -> None:
    _, stored = check_answer(SURVEY, "comment", "a\x00b\x1b[31mc\u200b\nd\r\n\te\ud800")
    assert stored == "ab[31mc d e"


def test_an_accent_typed_as_a_separate_mark_is_the_same_text() -> None:
    assert check_answer(SURVEY, "comment", "cafe\u0301")[1] == "café"


def test_the_limit_is_checked_after_cleaning_and_the_reason_never_quotes_the_text() -> None:
    assert check_answer(SURVEY, "comment", "x" * MAX_TEXT)[1] == "x" * MAX_TEXT
    assert check_answer(SURVEY, "comment", "x" * MAX_TEXT + "\x00" * 50)[1] == "x" * MAX_TEXT
    secret = "call me on 0612345678 "
    with pytest.raises(AnswerError) as refused:
        check_answer(SURVEY, "comment", secret * 10)
    assert f"at most {MAX_TEXT} characters" in str(refused.value)
    assert "0612345678" not in str(refused.value)


@pytest.mark.parametrize("value", ["", "   ", "\x00\x01", 3, None, b"bytes"])
def test_an_empty_or_non_text_answer_is_refused(value: object) -> None:
    with pytest.raises(AnswerError):
        check_answer(SURVEY, "comment", value)


def test_the_limit_fits_what_head_office_stores() -> None:
    assert 0 < MAX_TEXT <= MAX_VALUE


@given(st.text(max_size=400))
def test_cleaning_is_idempotent_and_leaves_no_control_character(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(unicodedata.category(c)[0] == "C" for c in once)


@given(st.text(max_size=300))
def test_an_accepted_comment_is_accepted_again_unchanged(raw: str) -> None:
    """The kiosk stores what check_answer returns and head office checks that again: same result."""
    try:
        _, stored = check_answer(SURVEY, "comment", raw)
    except AnswerError:
        return
    assert 0 < len(stored) <= MAX_TEXT
    assert check_answer(SURVEY, "comment", stored)[1] == stored


def test_comments_are_counted_but_never_scored_nor_listed() -> None:
    figures = question_scores(COMMENT, {"Trop d'attente": 2, "Très bien": 1}, excluded=1)
    assert figures == {"kind": "text", "responses": 3, "excluded": 1}
    day = dt.date(2026, 12, 1)
    rows = [
        CountRow(day, "satisfaction", "2", False, 3, "smiley5"),
        CountRow(day, "comment", "Trop d'attente", False, 1, "text"),
    ]
    report = daily_scores(STORE, SURVEY, rows, day, day)
    questions = report["days"][0]["questions"]
    assert questions["comment"] == {"kind": "text", "responses": 1, "excluded": 0}
    assert questions["satisfaction"]["responses"] == 3
    assert "Trop d'attente" not in repr(report)


def test_a_survey_definition_carries_the_kind_and_refuses_a_comment_first() -> None:
    assert survey_from_definition(survey_definition(SURVEY)).questions[1].kind is Kind.TEXT
    backwards = survey_definition(Survey(questions=(COMMENT, SMILEY)))
    with pytest.raises(SurveyDefinitionError, match="cannot be the first"):
        survey_from_definition(backwards)


COMMENT_TOML = """
[[questions]]
id = "comment"
kind = "text"
text = { fr = "Un mot de plus ? (facultatif)", en = "Anything else? (optional)" }
"""


def test_a_kiosk_toml_with_a_comment_question_loads_and_a_comment_first_is_refused() -> None:
    from kiosk.config import ConfigError, check_config_text, default_config_text

    base = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")
    assert 'kind = "text"' not in base  # off in the default survey
    config = check_config_text(base + COMMENT_TOML, "kiosk.toml")
    assert config.survey.questions[-1].kind is Kind.TEXT
    first = base.index("[[questions]]")
    with pytest.raises(ConfigError, match="cannot be the first"):
        check_config_text(base[:first] + COMMENT_TOML + base[first:], "kiosk.toml")


def test_the_readme_shows_a_survey_with_a_comment_question() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert COMMENT_TOML.strip() in readme
