"""kiosk.toml: the default loads; every kind of mistake is reported with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, default_config_text, load_config
from kiosk.domain.survey import Kind, ShowIf


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def default_text() -> str:
    return default_config_text("paris-01", "till-1", "Europe/Paris", "Paris Rivoli")


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_default_survey_asks_satisfaction_then_a_reason_after_a_low_score_then_nps(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, default_text()))
    assert [(q.id, q.kind) for q in config.survey.questions] == [
        ("satisfaction", Kind.SMILEY5),
        ("reason", Kind.CHOICE),
        ("recommend", Kind.NPS),
    ]
    reason = config.survey.questions[1]
    assert reason.show_if == ShowIf("satisfaction", 1, 2)
    assert {"waiting", "staff", "price", "cleanliness", "availability"} <= set(reason.values)
    assert config.survey.languages == ("fr", "en")
    assert config.store.timezone == "Europe/Paris"
    assert config.survey.questions[0].text["fr"].startswith("Comment")


def test_survey_version_changes_when_the_questions_change(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, default_text())).survey.version
    second = load_config(write(tmp_path, default_text().replace('"Prix"', '"Tarifs"'))).survey.version
    assert first != second


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    text = default_text().replace('kind = "nps"', 'kind = "nps')
    found = problems(write(tmp_path, text))
    line = line_of(text, 'kind = "nps')
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'kiosk.toml'}:{line}: invalid TOML")


def test_unknown_question_kind_names_file_line_and_key(tmp_path: Path) -> None:
    text = default_text().replace('kind = "smiley5"', 'kind = "smily5"')
    (problem,) = problems(write(tmp_path, text))
    assert problem.startswith(f"{tmp_path / 'kiosk.toml'}:{line_of(text, 'smily5')}: questions[0].kind:")
    assert "unknown kind 'smily5'" in problem and "smiley5" in problem


def test_duplicate_question_ids(tmp_path: Path) -> None:
    text = default_text().replace('id = "recommend"', 'id = "satisfaction"')
    (problem,) = problems(write(tmp_path, text))
    assert "questions[2].id: duplicate question id 'satisfaction'" in problem
    lines = [i for i, line in enumerate(text.splitlines(), 1) if 'id = "satisfaction"' in line]
    assert problem.startswith(f"{tmp_path / 'kiosk.toml'}:{lines[1]}:")


def test_bad_time_zone(tmp_path: Path) -> None:
    text = default_text().replace('"Europe/Paris"', '"Europe/Pariss"')
    (problem,) = problems(write(tmp_path, text))
    assert f":{line_of(text, 'Pariss')}: store.timezone: unknown IANA time zone 'Europe/Pariss'" in problem


def test_missing_text_for_a_language_and_unknown_keys(tmp_path: Path) -> None:
    text = (
        default_text().replace(', en = "Staff"', "").replace("min_visits = 3", "min_visits = 3\ncolour = 3")
    )
    found = problems(write(tmp_path, text))
    assert any("questions[1].options[1].text.en: missing the 'en' text" in p for p in found)
    assert any(f":{line_of(text, 'colour')}: repeated_presses.colour: unknown key" in p for p in found)


def test_show_if_must_point_at_an_earlier_numeric_question(tmp_path: Path) -> None:
    text = default_text().replace('question = "satisfaction", min = 1, max = 2', 'question = "recommend"')
    (problem,) = problems(write(tmp_path, text))
    assert "questions[1].show_if.question: 'recommend' is not an earlier question" in problem
    text = default_text().replace("min = 1, max = 2", "min = 2, max = 9")
    (problem,) = problems(write(tmp_path, text))
    assert "questions[1].show_if: min and max must be whole numbers with 1 <= min <= max <= 5" in problem


def test_missing_store_table_and_empty_questions(tmp_path: Path) -> None:
    found = problems(write(tmp_path, 'questions = []\n[device]\nid = "t"\n'))
    assert any("store: missing table" in p for p in found)
    assert any(p.endswith(":1: questions: must be a non-empty list of [[questions]] tables") for p in found)


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b'[store]\nid = "caf\xe9"\n')
    assert problems(path) == [f"{path}:2: not UTF-8 text"]
    assert "no such file" in problems(tmp_path / "nope.toml")[0]


def test_choice_needs_options_and_scales_refuse_them(tmp_path: Path) -> None:
    text = default_text().replace(
        'kind = "nps"', 'kind = "nps"\noptions = [{ id = "x", text = { fr = "x", en = "x" } }]'
    )
    (problem,) = problems(write(tmp_path, text))
    assert "questions[2].options: only a 'choice' question has options" in problem


def test_files_written_for_the_former_repeated_press_rule_still_load(tmp_path: Path) -> None:
    old = default_text().replace("gap_seconds = 6\nmin_visits = 3", "window_seconds = 10\nmin_run = 2")
    rule = load_config(write(tmp_path, old)).repeats
    assert (rule.window_seconds, rule.min_run) == (6.0, 3)
    off = load_config(write(tmp_path, old.replace("window_seconds = 10", "window_seconds = 0"))).repeats
    assert not off.enabled


def test_targets_and_scale_colours(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, default_text()))
    assert (config.targets.nps, config.display.scale_colours) == (None, "neutral")
    text = default_text() + "\n[targets]\nnps = 30\ncsat = 85.5\n"
    text = text.replace("[display]\n", '[display]\nscale_colours = "zones"\n')
    config = load_config(write(tmp_path, text))
    assert (config.targets.nps, config.targets.csat, config.targets.happy_index) == (30.0, 85.5, None)
    assert config.display.scale_colours == "zones"
    bad = default_text() + '\n[targets]\nnps = 130\nhappy_index = "high"\nrevenue = 3\n'
    bad = bad.replace("[display]\n", '[display]\nscale_colours = "rainbow"\n')
    found = problems(write(tmp_path, bad))
    assert any(
        f":{line_of(bad, 'nps = 130')}: targets.nps: must be a number from -100 to 100" in p for p in found
    )
    happy_line = line_of(bad, 'happy_index = "high"')
    assert any(f":{happy_line}: targets.happy_index: must be a number" in p for p in found)
    assert any(f":{line_of(bad, 'revenue')}: targets.revenue: unknown key" in p for p in found)
    assert any(f":{line_of(bad, 'rainbow')}: display.scale_colours: must be" in p for p in found)


def test_retention_days_is_checked_where_it_is_written(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, default_text())).retention_days == 90
    assert "# retention_days = 90" in default_text()  # offered, commented: older kiosks refuse the table
    text = default_text() + "\n[storage]\nretention_days = 30\n"
    assert load_config(write(tmp_path, text)).retention_days == 30
    for bad in ("0", "-5", "2.5", '"90"', "true", "100000"):
        text = default_text() + f"\n[storage]\nretention_days = {bad}\n"
        line = line_of(text, f"retention_days = {bad}")
        assert any(
            f"kiosk.toml:{line}: storage.retention_days: must be a whole number from 1 to 3660" in p
            for p in problems(write(tmp_path, text))
        ), bad
    text = default_text() + "\n[storage]\nretention_days = 90\nkeep_forever = true\n"
    found = problems(write(tmp_path, text))
    assert any(f":{line_of(text, 'keep_forever')}: storage.keep_forever: unknown key" in p for p in found)
