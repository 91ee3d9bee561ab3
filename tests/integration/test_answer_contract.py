"""One answer contract on the kiosk: the same visit rule on the tap and on import, answers that carry the
kind they were given on, and scores that survive a survey change (issue #9's kiosk-side bullets)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kiosk.domain.answers import check_answer
from kiosk.domain.survey import AnswerError
from tests.conftest import Invoke
from tests.integration.test_cli import one_line_error, scores

DAY = "2026-11-24"


def edit_survey(data_dir: Path, old: str, new: str) -> None:
    path = data_dir / "kiosk.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def visit_of(output: str) -> str:
    found = re.search(r"visit (\S+),", output)
    assert found is not None, output
    return found.group(1)


def test_smiley5_changed_to_smiley4_keeps_each_day_on_its_own_scale(
    kiosk_cli: Invoke, data_dir: Path
) -> None:
    assert kiosk_cli("record", "satisfaction", "5", "--at", f"{DAY}T10:00:00").exit_code == 0
    edit_survey(data_dir, 'kind = "smiley5"', 'kind = "smiley4"')
    assert kiosk_cli("record", "satisfaction", "4", "--at", "2026-11-25T10:00:00").exit_code == 0

    report = scores(kiosk_cli, "--from", DAY, "--to", "2026-11-25")
    before, after = (d["questions"]["satisfaction"] for d in report["days"])
    # Before: 133.3 and CSAT 0.0 (the 5 read on the 4-face scale).
    assert (before["kind"], before["happy_index"], before["csat"]) == ("smiley5", 100.0, 100.0)
    assert (after["kind"], after["happy_index"], after["csat"]) == ("smiley4", 100.0, 100.0)
    table = kiosk_cli("scores", "--from", DAY, "--to", "2026-11-25")
    assert table.exit_code == 0 and "smiley5" in table.stdout


def test_a_day_holding_both_kinds_is_split(kiosk_cli: Invoke, data_dir: Path) -> None:
    assert kiosk_cli("record", "satisfaction", "1", "--at", f"{DAY}T09:00:00").exit_code == 0
    edit_survey(data_dir, 'kind = "smiley5"', 'kind = "smiley4"')
    assert kiosk_cli("record", "satisfaction", "4", "--at", f"{DAY}T11:00:00").exit_code == 0
    day = scores(kiosk_cli, "--day", DAY)["days"][0]["questions"]["satisfaction"]
    assert (day["kind"], day["responses"], day["happy_index"]) == ("smiley4", 1, 100.0)
    assert day["other_kinds"]["smiley5"]["happy_index"] == 0.0
    assert day["other_kinds"]["smiley5"]["responses"] == 1


def test_choice_question_turned_into_a_smiley_does_not_break_scores(
    kiosk_cli: Invoke, data_dir: Path
) -> None:
    first = kiosk_cli("record", "satisfaction", "1", "--at", f"{DAY}T10:00:00")
    visit = visit_of(first.stdout)
    assert (
        kiosk_cli("record", "reason", "waiting", "--session", visit, "--at", f"{DAY}T10:00:05").exit_code == 0
    )
    # The choice question becomes a 5-face one (its show_if and options go).
    path = data_dir / "kiosk.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('id = "reason"')
    end = text.index("[[questions]]", start)
    path.write_text(
        text[:start]
        + 'id = "reason"\nkind = "smiley5"\ntext = { fr = "Et ?", en = "And?" }\n\n'
        + text[end:],
        encoding="utf-8",
    )
    result = kiosk_cli("scores", "--day", DAY)  # before: a traceback (int("waiting"))
    assert result.exit_code == 0, result.output
    reason = scores(kiosk_cli, "--day", DAY)["days"][0]["questions"]["reason"]
    assert reason["kind"] == "choice" and reason["counts"]["waiting"] == 1


def test_a_removed_option_is_still_scored_and_shown_removed(kiosk_cli: Invoke, data_dir: Path) -> None:
    visit = visit_of(kiosk_cli("record", "satisfaction", "1", "--at", f"{DAY}T10:00:00").stdout)
    assert (
        kiosk_cli("record", "reason", "price", "--session", visit, "--at", f"{DAY}T10:00:05").exit_code == 0
    )
    edit_survey(data_dir, '  { id = "price", text = { fr = "Prix", en = "Price" } },\n', "")
    reason = scores(kiosk_cli, "--day", DAY)["days"][0]["questions"]["reason"]
    assert reason["counts"]["price"] == 1 and reason["removed"] == ["price"]
    assert "price (removed) 1" in kiosk_cli("scores", "--day", DAY).stdout


def test_import_cannot_add_a_second_answer_to_a_visit(kiosk_cli: Invoke, tmp_path: Path) -> None:
    visit = visit_of(kiosk_cli("record", "satisfaction", "4", "--at", f"{DAY}T10:00:00").stdout)
    file = tmp_path / "more.csv"
    file.write_text(
        f"created_at,question,value,session\n{DAY}T10:00:09,satisfaction,2,{visit}\n", encoding="utf-8"
    )
    result = kiosk_cli("import", str(file))
    assert result.exit_code == 2
    assert f"{file}:2: session {visit!r}: this visit already has an answer to 'satisfaction'" in result.stderr
    assert scores(kiosk_cli, "--day", DAY)["days"][0]["questions"]["satisfaction"]["responses"] == 1


def test_import_honours_show_if_like_the_tap(kiosk_cli: Invoke, tmp_path: Path) -> None:
    file = tmp_path / "visit.csv"
    file.write_text(
        f"created_at,question,value,session\n{DAY}T10:00:00,satisfaction,5,v1\n{DAY}T10:00:04,reason,price,v1\n",
        encoding="utf-8",
    )
    result = kiosk_cli("import", str(file))
    assert result.exit_code == 2
    assert f"{file}:3: session 'v1': 'reason' is asked only when 'satisfaction' is 1 to 2" in result.stderr
    # The tap refuses it the same way (one check).
    visit = visit_of(kiosk_cli("record", "satisfaction", "5").stdout)
    assert "is asked only when" in one_line_error(kiosk_cli("record", "reason", "price", "--session", visit))


def test_the_same_answer_id_twice_in_a_file_is_a_line_error(kiosk_cli: Invoke, tmp_path: Path) -> None:
    answer_id = "0b6f2d0e-3b8e-4c55-9a51-5d0b0d0b0d0b"
    file = tmp_path / "twice.jsonl"
    file.write_text(
        "\n".join(
            json.dumps(
                {"id": answer_id, "created_at": f"{DAY}T10:00:0{i}", "question": "satisfaction", "value": "4"}
            )
            for i in range(2)
        )
        + "\n",
        encoding="utf-8",
    )
    result = kiosk_cli("import", str(file))
    assert result.exit_code == 2 and "damaged" not in result.output  # before: "kiosk.db: damaged (UNIQUE …)"
    assert f"{file}:2: id: {answer_id} is also on line 1" in result.stderr


def test_check_answer_rules(config_file: Path) -> None:
    from kiosk.config import load_config

    survey = load_config(config_file).survey
    assert check_answer(survey, "satisfaction", " 4 ")[1] == "4"
    for question, value, visit, reason in [
        ("satisfaction", "abc", {}, "whole number"),
        ("satisfaction", "99", {}, "from 1 to 5"),
        ("nope", "1", {}, "unknown question"),
        ("satisfaction", "3", {"satisfaction": "4"}, "already has an answer"),
        ("reason", "price", {"satisfaction": "5"}, "asked only when"),
        ("reason", "gone", {}, "takes one of"),
    ]:
        try:
            check_answer(survey, question, value, visit)
        except AnswerError as error:
            assert reason in str(error)
        else:
            raise AssertionError(f"{question}={value} accepted")
    # Where the earlier answer is not in the visit, show_if cannot be checked: let through.
    assert check_answer(survey, "reason", "price", {})[1] == "price"
