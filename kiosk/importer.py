"""Reads answers from a CSV or JSON Lines file and checks every line before anything is stored.

A file is taken whole or not at all: `parse_answers` returns either the answers or every problem, each naming
its line. Answer ids are derived from the content (uuid5), so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.domain.answers import check_answer
from kiosk.domain.days import TimeError, format_utc, parse_timestamp
from kiosk.domain.limits import MAX_SESSION
from kiosk.domain.survey import AnswerError, KioskConfig
from kiosk.storage import NewAnswer, ResponseStore

REQUIRED = ("created_at", "question", "value")
OPTIONAL = ("session", "id", "language", "store_id", "device_id")
# Columns that `kiosk export` writes and that the store derives again on import.
DERIVED = ("local_day", "survey_version", "suspect", "synced_at", "kind")
MAX_LISTED = 50


class ImportFileError(Exception):
    """The file cannot be read at all (missing, empty, binary); one line for the user."""


@dataclass(slots=True)
class Parsed:
    answers: list[NewAnswer] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line of each answer
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def fail(self, line: int, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(f"line {line}: {message}")


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a file") from None
    except OSError as error:
        raise ImportFileError(f"{path}: cannot read: {error.strerror}") from None
    if not data.strip():
        raise ImportFileError(f"{path}: the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ImportFileError(f"{path}: not a text file (binary data at byte {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(f"{path}:{line}: not UTF-8 text (byte {error.start})") from None


def guess_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def parse_answers(
    text: str,
    fmt: str,
    config: KioskConfig,
    progress: Callable[[int], None] | None = None,
    namespace: uuid.UUID | None = None,
) -> Parsed:
    """Check every line of an import; `progress` is told how many characters each line took.

    `namespace`: where the ids of lines without one are derived (`ResponseStore.import_namespace`, private
    to the kiosk); a fresh random one when not given (then importing twice is not idempotent)."""
    namespace = namespace or uuid.uuid4()
    parsed = Parsed()
    records = _csv_records(text, parsed) if fmt == "csv" else _jsonl_records(text, parsed)
    seen_in_visit: dict[tuple[str, str], int] = {}
    seen_ids: dict[str, int] = {}
    occurrences: dict[str, int] = {}
    for line, record, size in records:
        if progress is not None:
            progress(size)
        answer = _check(record, line, config, parsed)
        if answer is None:
            continue
        if answer.id is not None:
            if answer.id in seen_ids:
                parsed.fail(line, f"id: {answer.id} is also on line {seen_ids[answer.id]}")
                continue
            seen_ids[answer.id] = line
        if answer.session_id is not None:
            visit_key = (answer.session_id, answer.question_id)
            if visit_key in seen_in_visit:
                parsed.fail(
                    line,
                    f"visit {answer.session_id!r} already answered {answer.question_id!r} "
                    f"on line {seen_in_visit[visit_key]}",
                )
                continue
            seen_in_visit[visit_key] = line
        if answer.id is None:
            fingerprint = "|".join(
                (
                    config.store.id,
                    config.device_id,
                    format_utc(answer.created_at),
                    answer.question_id,
                    str(answer.value),
                    answer.session_id or "",
                )
            )
            occurrences[fingerprint] = occurrences.get(fingerprint, 0) + 1
            answer_id = str(uuid.uuid5(namespace, f"{fingerprint}|{occurrences[fingerprint]}"))
            answer = NewAnswer(
                question_id=answer.question_id,
                value=answer.value,
                created_at=answer.created_at,
                session_id=answer.session_id,
                language=answer.language,
                id=answer_id,
                device_id=answer.device_id,
            )
        parsed.answers.append(answer)
        parsed.lines.append(line)
    if not parsed.problem_count:
        _check_visits(parsed, config)
    if not parsed.answers and not parsed.problem_count:
        parsed.fail(1, "no answers in the file")
    return parsed


StoredVisits = Mapping[str, Mapping[str, tuple[str, str]]]


def _check_visits(parsed: Parsed, config: KioskConfig, stored: StoredVisits | None = None) -> None:
    """The tap's visit rule on every answer of a visit: the file's other answers and those already stored
    (`stored`: session -> question -> (answer id, value)) make the visit. A stored answer with the same id is
    the same answer (a re-import), not a second one."""
    sessions: dict[str, list[tuple[int, NewAnswer]]] = {}
    for line, answer in zip(parsed.lines, parsed.answers, strict=True):
        if answer.session_id is not None:
            sessions.setdefault(answer.session_id, []).append((line, answer))
    for session_id, rows in sessions.items():
        kept = {
            question: value
            for question, (answer_id, value) in (stored or {}).get(session_id, {}).items()
            if all(answer_id != a.id for _, a in rows)
        }
        everything = {a.question_id: str(a.value) for _, a in rows}
        for line, answer in rows:
            visit = {q: v for q, v in everything.items() if q != answer.question_id} | kept
            try:
                check_answer(config.survey, answer.question_id, answer.value, visit)
            except AnswerError as error:
                parsed.fail(line, f"session {session_id!r}: {error}")


def check_stored_visits(parsed: Parsed, config: KioskConfig, stored: StoredVisits) -> None:
    """Check the file's visits again with what the database already holds of them (see _check_visits)."""
    _check_visits(parsed, config, stored)


def check_file(
    store: ResponseStore, text: str, fmt: str, progress: Callable[[int], None] | None = None
) -> Parsed:
    """The use case behind `kiosk import`, before anything is stored: every line checked alone, then each
    visit with the tap's rule against what the store already holds; ids made in the kiosk's namespace.
    Store the answers with `AnswerRecorder(store).import_answers(parsed.answers)` (kiosk.recording) when
    `parsed.problem_count` is 0."""
    parsed = parse_answers(text, fmt, store.config, progress, store.import_namespace())
    if not parsed.problem_count:
        sessions = sorted({a.session_id for a in parsed.answers if a.session_id is not None})
        check_stored_visits(parsed, store.config, store.visits(sessions))
    return parsed


def _check(record: Mapping[str, Any], line: int, config: KioskConfig, parsed: Parsed) -> NewAnswer | None:
    survey = config.survey
    problems_before = parsed.problem_count
    for name in REQUIRED:
        if record.get(name) in (None, ""):
            parsed.fail(line, f"{name}: missing")
    if parsed.problem_count > problems_before:
        return None
    try:
        question = survey.question(str(record["question"]).strip())
    except AnswerError as error:
        parsed.fail(line, f"question: {error}")
        return None
    try:
        _, value = check_answer(survey, question.id, record["value"])
    except AnswerError as error:
        parsed.fail(line, f"value: {error}")
        return None
    raw_time = record["created_at"]
    if not isinstance(raw_time, str):
        parsed.fail(line, f"created_at: must be a text time like 2026-11-01T09:30:00+01:00, not {raw_time!r}")
        return None
    try:
        created_at = parse_timestamp(raw_time, config.store.tz)
    except TimeError as error:
        parsed.fail(line, f"created_at: {error}")
        return None
    optional: dict[str, str | None] = {}
    for name in OPTIONAL:
        raw = record.get(name)
        if raw in (None, ""):
            optional[name] = None
        elif not isinstance(raw, str):
            parsed.fail(line, f"{name}: must be text, not {raw!r}")
            return None
        else:
            optional[name] = raw.strip()
    session = optional["session"]
    if session is not None and len(session) > MAX_SESSION:
        parsed.fail(line, f"session: longer than {MAX_SESSION} characters")
        return None
    language = optional["language"]
    if language is not None and language not in survey.languages:
        parsed.fail(
            line, f"language: {language!r} is not offered (survey.languages: {', '.join(survey.languages)})"
        )
        return None
    store_id = optional["store_id"]
    if store_id is not None and store_id != config.store.id:
        parsed.fail(
            line, f"store_id: these answers are store {store_id!r}'s; this kiosk is {config.store.id!r}"
        )
        return None
    device_id = optional["device_id"]
    if device_id is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", device_id):
        parsed.fail(line, f"device_id: not a device id: {device_id!r}")
        return None
    answer_id = optional["id"]
    if answer_id is not None:
        try:
            answer_id = str(uuid.UUID(answer_id))
        except ValueError:
            parsed.fail(line, f"id: not a UUID: {answer_id!r}")
            return None
    return NewAnswer(
        question_id=question.id,
        value=value,
        created_at=created_at,
        session_id=optional["session"],
        language=language,
        id=answer_id,
        device_id=device_id,
    )


def _csv_records(text: str, parsed: Parsed) -> Iterator[tuple[int, dict[str, Any], int]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error) as error:
        parsed.fail(1, f"cannot read the CSV header ({error})")
        return
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        parsed.fail(
            1,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the header needs {','.join(REQUIRED)}; optional: {','.join(OPTIONAL)})",
        )
        return
    # `kiosk export` names these columns session_id and question_id: accept them too.
    aliases = {"session_id": "session", "question_id": "question"}
    header = [aliases.get(name, name) for name in header]
    unknown = [n for n in header if n not in (*REQUIRED, *OPTIONAL, *DERIVED)]
    if unknown:
        parsed.fail(
            1,
            f"unknown column {unknown[0]!r} (expected {','.join(REQUIRED)} and optionally "
            f"{','.join(OPTIONAL)})",
        )
        return
    previous = 1
    try:
        for row in reader:
            line = reader.line_num
            size = sum(len(cell) + 1 for cell in row)
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                parsed.fail(line, f"{len(row)} fields where the header has {len(header)}")
                continue
            yield line, dict(zip(header, row, strict=True)), size
            previous = line
    except csv.Error as error:
        parsed.fail(previous + 1, f"unreadable CSV ({error})")


def _jsonl_records(text: str, parsed: Parsed) -> Iterator[tuple[int, dict[str, Any], int]]:
    allowed = {*REQUIRED, *OPTIONAL, *DERIVED, "session_id", "question_id"}
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            parsed.fail(line, f"invalid JSON ({error.msg} at column {error.colno})")
            continue
        except ValueError:
            # json lets it through (a traceback before): an integer of more than 4300 digits.
            parsed.fail(line, "invalid JSON (a number with too many digits)")
            continue
        except RecursionError:
            parsed.fail(line, "invalid JSON (nested too deeply)")
            continue
        if not isinstance(record, dict):
            parsed.fail(line, 'expected a JSON object like {"created_at": …, "question": …, "value": …}')
            continue
        unknown = sorted(set(record) - allowed)
        if unknown:
            parsed.fail(line, f"unknown key {unknown[0]!r}")
            continue
        for old, new in (("session_id", "session"), ("question_id", "question")):
            if old in record:
                record.setdefault(new, record.pop(old))
        yield line, record, len(raw) + 1
