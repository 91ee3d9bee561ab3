"""What the kiosk remembers of the configurations head office sent (config-state.json), as its heartbeat
reports it: the version applied with its digest, and the last one refused with its reason."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kiosk.config import ConfigError, default_config_text
from sync.remote_config import (
    apply_pending_config,
    config_report,
    keep_pending,
    parse_version,
    record_refused,
)

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_nothing_to_report_before_head_office_sent_anything(tmp_path: Path) -> None:
    assert config_report(tmp_path) == {
        "config_version": None,
        "config_digest": None,
        "config_applied_at": None,
        "config_refused": None,
    }
    (tmp_path / "config-state.json").write_text("not json", encoding="utf-8")
    assert config_report(tmp_path)["config_version"] is None


def test_an_applied_file_is_reported_with_its_version_and_digest(tmp_path: Path) -> None:
    keep_pending(tmp_path, default_config_text("paris-01", "till-1", "Europe/Paris", "Paris"), 7, "ab" * 32)
    assert config_report(tmp_path)["config_version"] is None  # kept aside, not applied yet
    assert apply_pending_config(tmp_path, NOW) is not None
    report = config_report(tmp_path)
    assert (report["config_version"], report["config_digest"]) == (7, "ab" * 32)
    assert report["config_applied_at"] == "2026-12-01T09:00:00.000Z" and report["config_refused"] is None


def test_a_file_refused_when_applied_is_reported_and_a_newer_accepted_one_clears_it(tmp_path: Path) -> None:
    good = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris")
    keep_pending(tmp_path, good.replace('kind = "smiley5"', 'kind = "smiley9"'), 8, "cd" * 32)
    with pytest.raises(ConfigError):
        apply_pending_config(tmp_path, NOW)
    refused = config_report(tmp_path)["config_refused"]
    assert refused["version"] == 8 and refused["digest"] == "cd" * 32
    assert "questions[0].kind" in refused["reason"] and refused["at"] == "2026-12-01T09:00:00.000Z"
    # Refused when pulled, later: the newest refusal is the one reported.
    record_refused(tmp_path, 9, "ef" * 32, "configuration from head office is for store 'x', not 'paris-01'")
    assert config_report(tmp_path)["config_refused"]["version"] == 9
    # A newer file accepted: the refusal no longer describes what head office serves.
    keep_pending(tmp_path, good, 10, "01" * 32)
    assert config_report(tmp_path)["config_refused"] is None
    apply_pending_config(tmp_path, NOW)
    assert config_report(tmp_path)["config_version"] == 10


@pytest.mark.parametrize(
    ("header", "version"), [("12", 12), (None, None), ("", None), ("x", None), ("-3", None), ("0", None)]
)
def test_the_version_header_is_read_or_ignored(header: str | None, version: int | None) -> None:
    assert parse_version(header) == version


def test_kiosk_status_shows_the_configuration_applied_and_the_last_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kiosk.cli import main

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    assert (
        runner.invoke(main, ["init", "--store-id", "paris-01", "--device-id", "till-1", *data]).exit_code == 0
    )
    before = runner.invoke(main, ["status", *data])
    assert before.exit_code == 0 and "configuration:" not in before.output
    good = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris")
    keep_pending(tmp_path, good, 7, "ab" * 32)
    apply_pending_config(tmp_path, NOW)
    record_refused(tmp_path, 8, "cd" * 32, "kiosk.toml:12: questions[0].kind: unknown kind 'smiley9'", NOW)
    shown = runner.invoke(main, ["status", *data])
    assert "configuration:   version 7 (applied 2026-12-01T09:00:00.000Z)" in shown.output
    assert (
        "config refused:  version 8: kiosk.toml:12: questions[0].kind: unknown kind 'smiley9'" in shown.output
    )
    report = json.loads(runner.invoke(main, ["status", "--json", *data]).output)
    assert report["config_version"] == 7 and report["config_refused"]["version"] == 8
