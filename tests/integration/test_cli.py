"""The `kiosk` command line through click's CliRunner, as a store technician would use it."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiosk.cli import main
from tests.conftest import Invoke, ReadOnlyMount


def one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def count(data_dir: Path) -> int:
    return int(sqlite3.connect(data_dir / "kiosk.db").execute("SELECT count(*) FROM answers").fetchone()[0])


def scores(kiosk_cli: Invoke, *args: str) -> dict:  # type: ignore[type-arg]
    result = kiosk_cli("scores", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ("init", "record", "import", "scores", "export", "doctor"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "--data-dir" in result.output, command
    assert "0.1.0" in runner.invoke(main, ["--version"]).output


def test_init_writes_a_commented_config_and_refuses_to_overwrite(kiosk_cli: Invoke, data_dir: Path) -> None:
    text = (data_dir / "kiosk.toml").read_text(encoding="utf-8")
    assert 'id = "paris-01"' in text and text.count("#") > 10
    assert (data_dir / "kiosk.db").exists()
    kiosk_cli("record", "satisfaction", "4")
    error = one_line_error(kiosk_cli("init", "--store-id", "other", "--device-id", "x"))
    assert "already exists" in error and "--force" in error
    kept = kiosk_cli("init", "--store-id", "other", "--device-id", "x", "--exist-ok")
    assert kept.exit_code == 0 and 'id = "paris-01"' in (data_dir / "kiosk.toml").read_text(encoding="utf-8")
    forced = kiosk_cli("init", "--store-id", "lyon-02", "--device-id", "till-9", "--force")
    assert forced.exit_code == 0 and "kept, 1 answers" in forced.stdout
    assert 'id = "lyon-02"' in (data_dir / "kiosk.toml").read_text(encoding="utf-8")
    assert count(data_dir) == 1


def test_init_with_a_bad_time_zone_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "new"
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--store-id",
            "s",
            "--device-id",
            "d",
            "--timezone",
            "Mars/Olympus",
            "--data-dir",
            str(target),
        ],
    )
    assert "unknown IANA time zone 'Mars/Olympus'" in one_line_error(result)
    assert list(target.iterdir()) == []


def test_recorded_answers_make_the_day_scores(kiosk_cli: Invoke) -> None:
    taps = [
        ("satisfaction", "5"),
        ("satisfaction", "4"),
        ("satisfaction", "2"),
        ("recommend", "10"),
        ("recommend", "9"),
        ("recommend", "3"),
        ("recommend", "8"),
    ]
    for minute, (question, value) in enumerate(taps):
        result = kiosk_cli("record", question, value, "--at", f"2026-11-01T10:{minute:02d}:00")
        assert result.exit_code == 0, result.output
    visit = (
        kiosk_cli("record", "satisfaction", "1", "--at", "2026-11-01T23:59:00")
        .stdout.split("visit ")[1]
        .split(",")[0]
    )
    assert (
        kiosk_cli("record", "reason", "waiting", "--at", "2026-11-01T23:59:30", "--session", visit).exit_code
        == 0
    )
    report = scores(kiosk_cli, "--day", "2026-11-01")
    day = report["days"][0]["questions"]
    assert day["satisfaction"] == {
        "kind": "smiley5",
        "responses": 4,
        "excluded": 0,
        "mean": 3.0,
        "csat": 50.0,
        "happy_index": 50.0,
        "distribution": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert (day["recommend"]["nps"], day["recommend"]["promoters"], day["recommend"]["detractors"]) == (
        25.0,
        2,
        1,
    )
    assert day["reason"]["counts"]["waiting"] == 1
    table = kiosk_cli("scores", "--day", "2026-11-01").stdout
    assert "CSAT 50.0%" in table and "NPS +25.0" in table and "waiting 1" in table


def test_naive_times_are_store_local_and_days_follow_dst(kiosk_cli: Invoke) -> None:
    kiosk_cli("record", "satisfaction", "5", "--at", "2026-10-25T23:30")  # CET, 22:30 UTC
    kiosk_cli("record", "satisfaction", "1", "--at", "2026-10-25T23:30:00Z")  # 00:30 local on the 26th
    report = scores(kiosk_cli, "--from", "2026-10-24", "--to", "2026-10-26")
    responses = [d["questions"]["satisfaction"]["responses"] for d in report["days"]]
    assert responses == [0, 1, 1]
    assert report["days"][0]["questions"]["satisfaction"]["csat"] is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("record", "satisfation", "3"), "unknown question 'satisfation'"),
        (("record", "satisfaction", "6"), "'satisfaction' takes a whole number from 1 to 5; got 6"),
        (("record", "recommend", "ten"), "'recommend' takes a whole number from 0 to 10"),
        (("record", "reason", "parking"), "'reason' takes one of waiting, staff"),
        (("record", "satisfaction", "3", "--at", "tomorrow"), "--at: not an ISO 8601 time"),
        (("record", "satisfaction", "3", "--language", "de"), "language 'de' is not offered"),
        (
            ("scores", "--from", "2026-11-05", "--to", "2026-11-01"),
            "--from 2026-11-05 is after --to 2026-11-01",
        ),
        (("scores", "--day", "2026-02-30"), "not a day"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(
    kiosk_cli: Invoke, data_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    kiosk_cli("record", "satisfaction", "4")
    assert expected in one_line_error(kiosk_cli(*args))
    assert count(data_dir) == 1


def test_import_csv_then_again_adds_nothing(kiosk_cli: Invoke, data_dir: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "answers.csv"
    csv_file.write_text(
        "created_at,question,value,session\n"
        "2026-11-01T09:00:00+01:00,satisfaction,2,v1\n"
        "2026-11-01T09:00:05+01:00,reason,price,v1\n"
        "2026-11-01T09:30:00,satisfaction,5,\n"
        "2026-11-01T09:30:10Z,recommend,9,\n",
        encoding="utf-8",
    )
    first = kiosk_cli("import", str(csv_file))
    assert first.exit_code == 0 and "Imported 4 answers" in first.stdout
    second = kiosk_cli("import", str(csv_file))
    assert "Imported 0 answers" in second.stdout and "4 already present" in second.stdout
    assert count(data_dir) == 4
    day = scores(kiosk_cli, "--day", "2026-11-01")["days"][0]["questions"]
    assert day["satisfaction"]["distribution"]["2"] == 1 and day["reason"]["counts"]["price"] == 1


def test_import_jsonl(kiosk_cli: Invoke, tmp_path: Path) -> None:
    jsonl = tmp_path / "answers.jsonl"
    values = (0, 10, 10, 10, 10)
    seconds = (0, 60, 120, 125, 128)  # the last three: a run of alike visits 6 s or less apart
    lines = [
        {"created_at": f"2026-11-02T12:{s // 60:02d}:{s % 60:02d}Z", "question": "recommend", "value": v}
        for v, s in zip(values, seconds, strict=True)
    ]
    jsonl.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    assert kiosk_cli("import", str(jsonl)).exit_code == 0
    recommend = scores(kiosk_cli, "--day", "2026-11-02")["days"][0]["questions"]["recommend"]
    assert (recommend["nps"], recommend["responses"], recommend["excluded"]) == (0.0, 2, 3)


def test_one_bad_row_among_thousands_rejects_the_whole_file(
    kiosk_cli: Invoke, data_dir: Path, tmp_path: Path
) -> None:
    kiosk_cli("record", "satisfaction", "3")
    rows = [
        f"2026-10-{1 + i % 28:02d}T{8 + i % 10:02d}:{i % 60:02d}:00,recommend,{i % 11}" for i in range(5000)
    ]
    rows[3141] = "2026-10-05T10:00:00,recommend,11"
    big = tmp_path / "big.csv"
    big.write_text("created_at,question,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = kiosk_cli("import", str(big))
    assert result.exit_code == 2
    assert f"{big}:3143: value: 'recommend' takes a whole number from 0 to 10; got 11" in result.stderr
    assert "1 bad line; nothing imported" in result.stderr and "Traceback" not in result.output
    assert count(data_dir) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        (b"created_at,question\n2026-11-01T10:00,satisfaction\n", "missing column value"),
        (b"created_at,question,value,colour\n", "unknown column 'colour'"),
        (
            b"created_at,question,value\n2026-03-29T02:30,satisfaction,4\n",
            "line 2: created_at: 2026-03-29T02:30 does not exist",
        ),
        (b'{"created_at": "2026-11-01T10:00Z", "question": "satisfaction"}\n', "line 1: value: missing"),
        (
            b'{"created_at": "2026-11-01T10:00Z", "question": "satisfaction", "value": 3\n',
            "line 1: invalid JSON",
        ),
    ],
)
def test_import_of_unusable_files(
    kiosk_cli: Invoke, data_dir: Path, tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / ("in.jsonl" if content and content.startswith(b"{") else "in.csv")
    if content is not None:
        path.write_bytes(content)
    result = kiosk_cli("import", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert expected in result.stderr.replace(f"{path}:", "line ", 1) or expected in result.stderr
    assert count(data_dir) == 0


def test_big_import_shows_progress(kiosk_cli: Invoke, tmp_path: Path) -> None:
    rows = [
        f"2026-09-{1 + i % 30:02d}T{9 + i % 8:02d}:{i % 60:02d}:{i % 59:02d}Z,satisfaction,{1 + i % 5}"
        for i in range(40000)
    ]
    big = tmp_path / "big.csv"
    big.write_text("created_at,question,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = kiosk_cli("import", str(big))
    assert result.exit_code == 0 and "Imported 40000 answers" in result.stdout
    assert "Checking big.csv" in result.stderr and "Storing" in result.stderr


def test_export_includes_suspect_answers_and_reimports_to_the_same_scores(
    kiosk_cli: Invoke, tmp_path: Path
) -> None:
    for second in (0, 3, 6):  # three presses of the same face: a run, flagged whole
        kiosk_cli("record", "satisfaction", "5", "--at", f"2026-11-03T10:00:0{second}")
    kiosk_cli("record", "satisfaction", "2", "--at", "2026-11-03T11:00:00")
    exported = tmp_path / "out.csv"
    assert kiosk_cli("export", "-o", str(exported)).exit_code == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,session,question,value,created_at,local_day")
    assert [line.split(",")[8] for line in lines[1:]] == ["1", "1", "1", "0"]
    jsonl = kiosk_cli("export", "--format", "jsonl").stdout.splitlines()
    assert json.loads(jsonl[0])["value"] == 5 and json.loads(jsonl[1])["suspect"] is True
    assert json.loads(jsonl[3])["suspect"] is False

    before = scores(kiosk_cli, "--day", "2026-11-03")
    assert before["days"][0]["questions"]["satisfaction"]["excluded"] == 3
    other = tmp_path / "restored"
    runner = CliRunner()
    runner.invoke(
        main,
        [
            "init",
            "--store-id",
            "paris-01",
            "--device-id",
            "till-1",
            "--store-name",
            "Paris Rivoli",
            "--data-dir",
            str(other),
        ],
    )
    assert runner.invoke(main, ["import", str(exported), "--data-dir", str(other)]).exit_code == 0
    after = json.loads(
        runner.invoke(main, ["scores", "--json", "--day", "2026-11-03", "--data-dir", str(other)]).stdout
    )
    assert after == before


def test_doctor_passes_on_a_fresh_kiosk_and_fails_on_damage(kiosk_cli: Invoke, data_dir: Path) -> None:
    healthy = kiosk_cli("doctor")
    assert healthy.exit_code == 0 and "All checks passed" in healthy.stdout
    config = data_dir / "kiosk.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('"nps"', '"npss"'), encoding="utf-8")
    broken = kiosk_cli("doctor")
    assert (
        broken.exit_code == 1
        and "FAIL  configuration" in broken.stdout
        and "unknown kind 'npss'" in broken.stdout
    )


def test_doctor_detects_a_corrupt_database(kiosk_cli: Invoke, data_dir: Path) -> None:
    for i in range(200):
        kiosk_cli("record", "recommend", str(i % 11), "--at", f"2026-11-01T{8 + i // 60:02d}:{i % 60:02d}:00")
    kiosk_cli("doctor")  # checkpoints nothing; make sure the WAL is folded into the file before damaging it
    sqlite3.connect(data_dir / "kiosk.db").execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = data_dir / "kiosk.db"
    data = bytearray(db.read_bytes())
    rnd = random.Random(7)
    for page in range(2, len(data) // 4096):
        for _ in range(64):
            data[page * 4096 + rnd.randrange(100, 4096)] = rnd.randrange(256)
    db.write_bytes(bytes(data))
    result = kiosk_cli("doctor")
    assert result.exit_code == 1 and "FAIL  database" in result.stdout


def test_a_locked_database_is_a_one_line_error(kiosk_cli: Invoke, data_dir: Path) -> None:
    kiosk_cli("record", "satisfaction", "4")
    holder = sqlite3.connect(data_dir / "kiosk.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        error = one_line_error(kiosk_cli("record", "satisfaction", "1"), code=1)
        assert "locked by another process" in error
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count(data_dir) == 1


def test_read_only_data_dir_refuses_writes_in_one_line_and_keeps_answers(
    read_only_mount: ReadOnlyMount,
) -> None:
    runner = CliRunner()
    home = read_only_mount.path / "kiosk"

    def kiosk(*args: str) -> Result:
        return runner.invoke(main, [*args, "--data-dir", str(home)], catch_exceptions=False)

    assert kiosk("init", "--store-id", "s", "--device-id", "d").exit_code == 0
    assert kiosk("record", "satisfaction", "4", "--at", "2026-11-01T10:00").exit_code == 0
    read_only_mount.make_read_only()
    error = one_line_error(kiosk("record", "satisfaction", "2"), code=1)
    assert "read-only" in error
    doctor = kiosk("doctor")
    assert doctor.exit_code == 1 and "READ-ONLY" in doctor.stdout
    fresh = runner.invoke(
        main, ["init", "--store-id", "s", "--device-id", "d", "--data-dir", str(home.parent / "new")]
    )
    assert "cannot write in" in one_line_error(fresh, code=1)
    db = sqlite3.connect(f"file:{home / 'kiosk.db'}?immutable=1", uri=True)
    assert db.execute("SELECT value FROM answers").fetchall() == [("4",)]


def test_doctor_flags_a_device_clock_from_1970(kiosk_cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Raspberry Pi has no battery clock: booted without network it believes it is 1970.
    import datetime as dt

    import kiosk.cli

    kiosk_cli("record", "satisfaction", "4", "--at", "2026-11-20T10:00")
    monkeypatch.setattr(kiosk.cli, "_now", lambda: dt.datetime(1970, 1, 1, 0, 5, tzinfo=dt.UTC))
    result = kiosk_cli("doctor")
    assert result.exit_code == 1
    assert "FAIL  clock: 1970-01-01 00:05 UTC is before this release" in result.stdout
    assert "later than the clock" in result.stdout
