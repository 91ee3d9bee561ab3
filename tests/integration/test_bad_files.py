"""Bad files: a fuzzed corpus of kiosk.toml and import files through the real CLI (CliRunner, exceptions not
caught, so a traceback fails the test).

Mutations of the default files: truncation, random byte flips, and random key/value changes (a value
replaced by another TOML value, a key renamed, deleted or duplicated; for imports a cell, a column or a
line). Whatever the mutation, the kiosk either accepts the file whole or refuses it: exit code 2, one line
per problem naming where (FILE:LINE or FILE and the key), never a traceback, nothing partial (answer count
unchanged, kiosk.toml untouched, no temporary file left). Hand-picked poison values (a 5000-digit number,
nesting 100 000 deep) complete the corpus: both raised uncaught errors before (tracebacks).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kiosk.cli import main
from kiosk.config import ConfigError, default_config_text, load_config

# A longer campaign: KIOSK_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/integration/test_bad_files.py
EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "120"))
DEFAULT = default_config_text("paris-01", "till-1", "Europe/Paris", "Paris")

TOML_VALUES = st.sampled_from(
    [
        '""',
        '"x"',
        '"Mars/Olympus"',
        "0",
        "-1",
        "1e400",
        "nan",
        "inf",
        "true",
        "[]",
        "[1, 2]",
        '["fr", "fr"]',
        "{}",
        '{ fr = "a" }',
        "1979-05-27T07:32:00Z",
        '"' + "x" * 300 + '"',
        "9" * 5000,
        "[" * 3000 + "]" * 3000,
    ]
)


@pytest.fixture(scope="module")
def kiosk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("badfiles")
    runner = CliRunner()
    args = ["init", "--store-id", "paris-01", "--device-id", "till-1", "--store-name", "Paris"]
    assert runner.invoke(main, [*args, "--data-dir", str(data_dir)]).exit_code == 0
    for value in ("4", "5", "1"):
        assert (
            runner.invoke(main, ["record", "satisfaction", value, "--data-dir", str(data_dir)]).exit_code == 0
        )
    return data_dir


def count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "kiosk.db") as db:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_one_line_per_problem(result: Result, path: Path) -> None:
    """Exit 2, no traceback, and every line of stderr names the file (FILE:LINE: or FILE:)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line.removeprefix("kiosk: ") for line in result.stderr.strip().splitlines()]
    assert lines, result.output
    where = re.compile(re.escape(str(path)) + r"(:\d+)?: \S")
    for line in lines:
        assert where.match(line), line


def flip(data: bytes, positions: list[int], values: list[int]) -> bytes:
    out = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        out[position % len(out)] = value
    return bytes(out)


@st.composite
def mutated_config(draw: st.DrawFn) -> bytes:
    raw = DEFAULT.encode()
    how = draw(st.sampled_from(["truncate", "flip", "value", "rename", "delete", "duplicate"]))
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if how == "flip":
        n = draw(st.integers(1, 8))
        positions = draw(st.lists(st.integers(0, len(raw) - 1), min_size=n, max_size=n))
        return flip(raw, positions, draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)))
    lines = DEFAULT.splitlines()
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_]+\s*=", line)]
    index = draw(st.sampled_from(keyed))
    key, _, _ = lines[index].partition("=")
    if how == "value":
        lines[index] = f"{key}= {draw(TOML_VALUES)}"
    elif how == "rename":
        lines[index] = lines[index].replace(
            key.strip(), draw(st.sampled_from(["idd", "kind", "text", "x"])), 1
        )
    elif how == "delete":
        del lines[index]
    else:
        lines.insert(index, lines[index])
    return ("\n".join(lines) + "\n").encode()


@given(content=mutated_config())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_kiosk_toml(kiosk_dir: Path, content: bytes) -> None:
    config = kiosk_dir / "kiosk.toml"
    before = count(kiosk_dir)
    config.write_bytes(content)
    try:
        try:
            load_config(config)
            valid = True
        except ConfigError:
            valid = False
        result = invoke("record", "satisfaction", "4", "--data-dir", str(kiosk_dir))
        event("kiosk.toml " + ("accepted" if valid else "refused") + f", exit {result.exit_code}")
        if valid and result.exit_code == 0:
            assert count(kiosk_dir) == before + 1
            return
        if valid:
            # A valid file whose survey no longer has a face question: a one-line refusal of the answer.
            assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
            assert "Traceback" not in result.output
        else:
            assert_one_line_per_problem(result, config)
            doctor = invoke("doctor", "--data-dir", str(kiosk_dir))
            assert doctor.exit_code == 1 and "FAIL  configuration: " + str(config) in doctor.output
        assert count(kiosk_dir) == before
        assert config.read_bytes() == content
        assert not [p.name for p in kiosk_dir.iterdir() if p.name.endswith(".tmp")]
    finally:
        config.write_text(DEFAULT, encoding="utf-8")


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("gap_seconds = " + "9" * 5000, id="5000-digit number"),
        pytest.param("languages = " + "[" * 100_000 + "]" * 100_000, id="array nested 100000 deep"),
        pytest.param("name = " + "{a=" * 5000 + "1" + "}" * 5000, id="table nested 5000 deep"),
        # Accepted before, then every tap crashed with OverflowError (found by the fuzzing above).
        pytest.param('timezone = "' + "x" * 300 + '"', id="time zone longer than a file name"),
        pytest.param('timezone = "Europe"', id="time zone that is a directory"),
        pytest.param('timezone = "../../../../etc/passwd"', id="time zone outside the database"),
        pytest.param("gap_seconds = nan", id="gap nan"),
        pytest.param("gap_seconds = inf", id="gap inf"),
        pytest.param("gap_seconds = 1e300", id="gap 1e300"),
    ],
)
def test_poison_values_in_kiosk_toml(kiosk_dir: Path, line: str) -> None:
    config = kiosk_dir / "kiosk.toml"
    key = line.split(" =")[0]
    text = re.sub(rf"^{key} = .*$", line, DEFAULT, count=1, flags=re.M)
    config.write_text(text, encoding="utf-8")
    try:
        result = invoke("record", "satisfaction", "4", "--data-dir", str(kiosk_dir))
        assert_one_line_per_problem(result, config)
        assert len(result.stderr) < 1000
    finally:
        config.write_text(DEFAULT, encoding="utf-8")


def test_init_force_with_bad_values_leaves_the_file_as_it_was(kiosk_dir: Path) -> None:
    config = kiosk_dir / "kiosk.toml"
    before = config.read_bytes()
    for args in (["--timezone", "Mars/Olympus"], ["--store-id", "bad id"], ["--device-id", "../x"]):
        base = {"--store-id": "paris-01", "--device-id": "till-1"} | dict(
            zip(args[::2], args[1::2], strict=True)
        )
        flat = [item for pair in base.items() for item in pair]
        result = invoke("init", *flat, "--force", "--data-dir", str(kiosk_dir))
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
        assert config.read_bytes() == before
        assert not [p.name for p in kiosk_dir.iterdir() if p.name.endswith(".tmp")]


# -- import files -----------------------------------------------------------------------------------------

ROWS = [
    ("2026-11-20T09:00:00+01:00", "satisfaction", "4", "v1"),
    ("2026-11-20T09:00:02+01:00", "recommend", "9", "v1"),
    ("2026-11-20T09:05:00+01:00", "satisfaction", "2", "v2"),
    ("2026-11-20T09:05:03+01:00", "reason", "waiting", "v2"),
    ("2026-11-20 10:00:00", "satisfaction", "5", ""),
]


def csv_text() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["created_at", "question", "value", "session"])
    writer.writerows(ROWS)
    return out.getvalue()


def jsonl_text() -> str:
    return "".join(
        json.dumps({"created_at": t, "question": q, "value": v} | ({"session": s} if s else {})) + "\n"
        for t, q, v, s in ROWS
    )


CELLS = st.sampled_from(
    [
        "",
        "x",
        "-1",
        "11",
        "3.5",
        "nan",
        "2026-13-45",
        "1970-01-01T00:00:00Z",
        '"',
        "a,b",
        "\u00e9",
        "9" * 5000,
    ]
)


@st.composite
def mutated_import(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    text = csv_text() if fmt == "csv" else jsonl_text()
    raw = text.encode()
    how = draw(st.sampled_from(["truncate", "flip", "cell", "column", "line"]))
    if how == "truncate":
        return fmt, raw[: draw(st.integers(1, len(raw) - 1))]
    if how == "flip":
        n = draw(st.integers(1, 6))
        positions = draw(st.lists(st.integers(0, len(raw) - 1), min_size=n, max_size=n))
        return fmt, flip(raw, positions, draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)))
    lines = text.splitlines()
    index = draw(st.integers(0 if how == "line" else 1, len(lines) - 1))
    if how == "line":
        lines[index] = draw(
            st.sampled_from(["", "{", "[]", "null", ",,,,,", '{"created_at": 1}', "x" * 1000])
        )
    elif fmt == "csv":
        cells = next(csv.reader([lines[index]]))
        column = draw(st.integers(0, len(cells) - 1))
        if how == "cell":
            cells[column] = draw(CELLS)
        else:
            del cells[column]
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        lines[index] = out.getvalue()
    else:
        record = json.loads(lines[index])
        key = draw(st.sampled_from(sorted(record)))
        if how == "cell":
            record[key] = draw(st.one_of(CELLS, st.integers(), st.none(), st.booleans(), st.just([1])))
        else:
            record[draw(st.sampled_from(["colour", "id", "language", "when"]))] = record.pop(key)
        lines[index] = json.dumps(record)
    return fmt, ("\n".join(lines) + "\n").encode()


@given(case=mutated_import())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_import_is_all_or_nothing(
    kiosk_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]
) -> None:
    fmt, content = case
    path = tmp_path_factory.mktemp("imp") / f"answers.{fmt}"
    path.write_bytes(content)
    before = count(kiosk_dir)
    result = invoke("import", str(path), "--data-dir", str(kiosk_dir))
    assert "Traceback" not in result.output
    event(f"{fmt} import, exit {result.exit_code}")
    if result.exit_code == 0:
        match = re.search(r"Imported (\d+) answers", result.stdout)
        assert match, result.output
        assert count(kiosk_dir) == before + int(match.group(1))
    else:
        assert_one_line_per_problem(result, path)
        assert count(kiosk_dir) == before


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            '{"created_at": "2026-11-20T09:00:00Z", "question": "recommend", "value": ' + "9" * 5000 + "}",
            id="5000-digit number",
        ),
        pytest.param('{"created_at": ' + "[" * 100_000 + "]" * 100_000 + "}", id="array nested 100000 deep"),
    ],
)
def test_poison_lines_in_an_import(kiosk_dir: Path, tmp_path: Path, line: str) -> None:
    path = tmp_path / "poison.jsonl"
    path.write_text(jsonl_text() + line + "\n", encoding="utf-8")
    before = count(kiosk_dir)
    result = invoke("import", str(path), "--data-dir", str(kiosk_dir))
    assert_one_line_per_problem(result, path)
    assert f"{path}:{len(ROWS) + 1}: " in result.stderr
    assert count(kiosk_dir) == before


@pytest.mark.parametrize(
    "poison", ["gap_seconds = " + "9" * 5000, "languages = " + "[" * 100_000 + "]" * 100_000]
)
def test_poison_toml_from_or_to_head_office(tmp_path: Path, poison: str) -> None:
    """The same poison through `kiosk-central set-config` and a config pulled from head office."""
    from sync.central.cli import main as central_main
    from sync.remote_config import RemoteConfigError, check_remote_config

    key = poison.split(" =")[0]
    text = re.sub(rf"^{key} = .*$", poison, DEFAULT, count=1, flags=re.M)
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        central_main,
        ["set-config", "--store", "paris-01", str(path), "--db", f"sqlite:///{tmp_path / 'c.db'}"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr
    (tmp_path / "good.toml").write_text(DEFAULT, encoding="utf-8")
    with pytest.raises(RemoteConfigError, match="not valid TOML"):
        check_remote_config(text.encode(), load_config(tmp_path / "good.toml"))
