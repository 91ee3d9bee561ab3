"""A survey version a kiosk sends (its definition: ids, kinds, options, show_if) is checked by kiosk.toml's own
code, the check `kiosk-central set-config` runs: every file set-config refuses for its questions, head office
refuses as a definition too, with the same words, and what a file allows comes back whole."""

from __future__ import annotations

import tomllib

import pytest

from kiosk.config import ConfigError, check_config_text, default_config_text, survey_from_definition
from kiosk.domain.answers import SurveyDefinitionError, survey_definition
from kiosk.domain.limits import MAX_OPTIONS, MAX_SURVEY_QUESTIONS

HEAD = '[store]\nid = "s"\n[device]\nid = "d"\n[survey]\nlanguages = ["fr"]\nversion = "v1"\n'


def question(qid: str, kind: str, extra: str = "") -> str:
    return f'[[questions]]\nid = "{qid}"\nkind = "{kind}"\ntext = {{ fr = "Q" }}\n{extra}'


def options(count: int) -> str:
    return (
        "options = [" + ", ".join(f'{{ id = "o{i}", text = {{ fr = "O" }} }}' for i in range(count)) + "]\n"
    )


BROKEN = {
    "duplicate id": question("a", "smiley5") + question("a", "nps"),
    "id with a space": question("a b", "smiley5"),
    "unknown kind": question("a", "stars"),
    "options on a smiley": question("a", "smiley5", options(2)),
    "choice without options": question("a", "smiley5") + question("b", "choice"),
    "too many options": question("a", "smiley5") + question("b", "choice", options(MAX_OPTIONS + 1)),
    "show_if on a later question": question(
        "a", "smiley5", 'show_if = { question = "b", min = 1, max = 2 }\n'
    )
    + question("b", "smiley5"),
    "show_if out of the scale": question("a", "smiley5")
    + question("b", "nps", 'show_if = { question = "a", min = 0, max = 9 }\n'),
    "a comment first": question("a", "text") + question("b", "smiley5"),
    "too many questions": "".join(question(f"q{i}", "smiley5") for i in range(MAX_SURVEY_QUESTIONS + 1)),
}


def definition_of(text: str) -> dict[str, object]:
    """The definition a kiosk would send for these questions, whether or not its file passes."""
    data = tomllib.loads(text)
    return {
        "version": data["survey"]["version"],
        "languages": data["survey"]["languages"],
        "questions": [
            {
                "id": q["id"],
                "kind": q["kind"],
                "options": [o["id"] for o in q.get("options", [])],
                "show_if": q.get("show_if"),
            }
            for q in data["questions"]
        ],
    }


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_definition_is_refused_exactly_when_set_config_refuses_the_file_and_in_its_words(name: str) -> None:
    text = HEAD + BROKEN[name]
    with pytest.raises(ConfigError) as file_error:
        check_config_text(text, "kiosk.toml")
    with pytest.raises(SurveyDefinitionError) as definition_error:
        survey_from_definition(definition_of(text))
    # "questions[1].id: duplicate question id 'a' (also questions[0])" is one of the file's problem lines.
    assert any(line.endswith(f": {definition_error.value}") for line in file_error.value.problems), (
        definition_error.value,
        file_error.value.problems,
    )


def test_what_a_file_allows_comes_back_whole_from_its_definition() -> None:
    config = check_config_text(default_config_text("s", "d", "Europe/Paris", "S"), "kiosk.toml")
    back = survey_from_definition(survey_definition(config.survey))
    assert survey_definition(back) == survey_definition(config.survey)
    assert [q.kind for q in back.questions] == [q.kind for q in config.survey.questions]
    assert back.version == config.survey.version


def test_a_definition_without_a_version_or_with_a_long_one_is_refused() -> None:
    config = check_config_text(default_config_text("s", "d", "Europe/Paris", "S"), "kiosk.toml")
    definition = survey_definition(config.survey)
    for version in (None, "", "v" * 65, "two\nlines"):
        with pytest.raises(SurveyDefinitionError, match=r"survey\.version"):
            survey_from_definition({**definition, "version": version})
    with pytest.raises(SurveyDefinitionError, match="survey: must be an object"):
        survey_from_definition(["not", "a", "survey"])
