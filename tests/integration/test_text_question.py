"""A survey with a comment question through the kiosk's command line and manager figures: a comment is
stored cleaned, `kiosk scores` counts it without scoring or showing it, and an over-long one is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kiosk.config import load_config
from kiosk.domain.limits import MAX_TEXT
from kiosk.ui.presenters import SyncState, dashboard_view
from tests.conftest import Invoke
from tests.integration.test_cli import one_line_error, scores
from tests.unit.test_text_answers import COMMENT_TOML


def add_comment_question(data_dir: Path) -> None:
    with (data_dir / "kiosk.toml").open("a", encoding="utf-8") as file:
        file.write(COMMENT_TOML)


def test_scores_count_comments_without_scoring_or_showing_them(kiosk_cli: Invoke, data_dir: Path) -> None:
    add_comment_question(data_dir)
    result = kiosk_cli("record", "satisfaction", "2")
    assert result.exit_code == 0, result.output
    session = result.stdout.split()[-1]
    done = kiosk_cli("record", "comment", "File d'attente\tinterminable", "--session", session)
    assert done.exit_code == 0, done.output
    report = scores(kiosk_cli)
    day = report["days"][-1]["questions"]
    assert day["comment"] == {"kind": "text", "responses": 1, "excluded": 0}
    assert day["satisfaction"]["csat"] == 0.0
    assert "interminable" not in repr(report)
    shown = kiosk_cli("scores")
    assert shown.exit_code == 0 and "comments, not scored" in shown.stdout
    assert "interminable" not in shown.stdout

    config = load_config(data_dir / "kiosk.toml")
    today = dt.date.fromisoformat(report["days"][-1]["day"])
    view = dashboard_view(
        config.survey,
        scores(kiosk_cli, "--from", (today - dt.timedelta(days=29)).isoformat(), "--to", today.isoformat()),
        7,
        [],
        config.store.tz,
        SyncState(configured=False),
        "fr",
        lambda _language, text: text,
    )
    assert view.tiles[0].value == "1"  # one visit, the comment is not another


def test_an_over_long_comment_is_refused_with_the_limit(kiosk_cli: Invoke, data_dir: Path) -> None:
    add_comment_question(data_dir)
    session = kiosk_cli("record", "satisfaction", "4").stdout.split()[-1]
    error = one_line_error(kiosk_cli("record", "comment", "x" * (MAX_TEXT + 1), "--session", session))
    assert f"at most {MAX_TEXT} characters" in error
