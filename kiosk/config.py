"""Reads and checks `kiosk.toml`, and writes the commented default one.

Every problem is reported as `FILE:LINE: key: problem`, one line each, so a technician editing the file on a
till knows exactly where to look.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.domain.answers import FIRST_NOT_TEXT, SurveyDefinitionError
from kiosk.domain.limits import MAX_OPTIONS, MAX_SURVEY_QUESTIONS, MAX_TEXT, MAX_VERSION
from kiosk.domain.survey import (
    SCALES,
    Display,
    Followup,
    Kind,
    KioskConfig,
    Option,
    Question,
    RepeatRule,
    ShowIf,
    Store,
    Survey,
    Targets,
)

Key = tuple[str | int, ...]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def key_name(key: Key) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def locate(source: str, key: Key) -> int | None:
    """The line (1-based) of the TOML file that best holds `key`: the key itself, else its nearest parent,
    else the first line inside it (a table written only through its sub-tables, like `[shops.x]`)."""
    best_line, best_len = None, 0
    inside = None
    for line_no, path in _key_lines(source):
        n = _common_prefix(path, key)
        if n == len(path) and n > best_len:
            best_line, best_len = line_no, n
        if inside is None and key and n == len(key):
            inside = line_no
    return best_line if best_line is not None else inside


def _common_prefix(a: Key, b: Key) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=\s*(.*)$")


def _split_dotted(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in text.split(".")]


def _key_lines(source: str) -> list[tuple[int, Key]]:
    """(line, key) for each table header, key line and element line of a multi-line array."""
    found: list[tuple[int, Key]] = []
    table: Key = ()
    counters: dict[Key, int] = {}
    open_array: Key | None = None
    element = 0
    for line_no, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if open_array is not None:
            if stripped.startswith(("{", '"', "'")) or stripped[:1].isdigit():
                found.append((line_no, (*open_array, element)))
                element += 1
            if stripped.startswith("]"):
                open_array = None
            continue
        header = _HEADER.match(line)
        if header:
            parts = _split_dotted(header.group(2))
            parent: Key = ()
            for part in parts[:-1]:
                parent = (*parent, part)
                if parent in counters:
                    parent = (*parent, counters[parent])
            if header.group(1) == "[[":
                array = (*parent, parts[-1])
                counters[array] = counters.get(array, -1) + 1
                table = (*array, counters[array])
            else:
                table = (*parent, parts[-1])
            found.append((line_no, table))
            continue
        keyline = _KEYLINE.match(line)
        if keyline and not stripped.startswith("#"):
            path = (*table, *_split_dotted(keyline.group(1)))
            found.append((line_no, path))
            value = keyline.group(2).split("#")[0].strip()
            if value.startswith("[") and not value.endswith("]"):
                open_array, element = path, 0
    return found


class _Checker:
    """Walks the parsed TOML, collecting problems with the key they concern."""

    def __init__(self, texts_required: bool = True) -> None:
        self.problems: list[tuple[Key, str]] = []
        # A survey definition sent by a kiosk carries no texts (survey_definition): its questions are
        # checked by the same code, texts left out.
        self.texts_required = texts_required

    def fail(self, key: Key, message: str) -> None:
        self.problems.append((key, message))

    def table(self, data: Mapping[str, Any], key: Key, allowed: set[str]) -> Mapping[str, Any]:
        for name in data:
            if name not in allowed:
                self.fail((*key, name), f"unknown key (expected one of {', '.join(sorted(allowed))})")
        return data

    def sub(self, data: Mapping[str, Any], key: Key, name: str, required: bool = True) -> Mapping[str, Any]:
        value = data.get(name)
        if value is None:
            if required:
                self.fail((*key, name), "missing table")
            return {}
        if not isinstance(value, dict):
            self.fail((*key, name), f"must be a table, not {type(value).__name__}")
            return {}
        return value

    def text(self, data: Mapping[str, Any], key: Key, name: str, default: str | None = None) -> str:
        value = data.get(name, default)
        if value is None:
            self.fail((*key, name), "missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail((*key, name), f"must be a non-empty text, not {value!r}")
            return ""
        return value

    def identifier(self, data: Mapping[str, Any], key: Key, name: str) -> str:
        value = self.text(data, key, name)
        if value and not _ID.match(value):
            self.fail(
                (*key, name), f"{value!r} is not a valid id (letters, digits, '_', '-', '.'; 64 at most)"
            )
        return value

    def number(
        self, data: Mapping[str, Any], key: Key, name: str, default: float, low: float, high: float
    ) -> float:
        value = data.get(name, default)
        # nan, inf and 1e300 were accepted (no upper bound; nan < low is false) and made every tap crash
        # later with OverflowError (found by fuzzing).
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.fail((*key, name), f"must be a number from {low:g} to {high:g}, not {value!r}")
            return default
        return float(value)

    def texts(self, data: Mapping[str, Any], key: Key, name: str, languages: Sequence[str]) -> dict[str, str]:
        value = data.get(name)
        if value is None and not self.texts_required:
            return {}
        if not isinstance(value, dict):
            self.fail((*key, name), 'missing: a table of texts per language, e.g. { fr = "…", en = "…" }')
            return {}
        for language in languages:
            if not isinstance(value.get(language), str) or not value[language].strip():
                self.fail((*key, name, language), f"missing the {language!r} text")
        for language in value:
            if language not in languages:
                self.fail((*key, name, language), f"language {language!r} is not in survey.languages")
        return {lang: text for lang, text in value.items() if isinstance(text, str)}


def parse_config(data: Mapping[str, Any]) -> tuple[KioskConfig | None, list[tuple[Key, str]]]:
    """Build the configuration from parsed TOML, or say every problem found (key, message)."""
    check = _Checker()
    check.table(
        data,
        (),
        {
            "store",
            "device",
            "survey",
            "repeated_presses",
            "questions",
            "display",
            "targets",
            "followup",
            "storage",
        },
    )

    store_data = check.sub(data, (), "store")
    check.table(store_data, ("store",), {"id", "name", "timezone"})
    store_id = check.identifier(store_data, ("store",), "id") if store_data else ""
    timezone = check.text(store_data, ("store",), "timezone", "Europe/Paris")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name longer than a file name can be (a traceback before, found by fuzzing).
            check.fail(("store", "timezone"), f"unknown IANA time zone {timezone!r} (e.g. Europe/Paris)")
    store = Store(
        id=store_id, name=check.text(store_data, ("store",), "name", store_id or "?"), timezone=timezone
    )

    device_data = check.sub(data, (), "device")
    check.table(device_data, ("device",), {"id"})
    device_id = check.identifier(device_data, ("device",), "id") if device_data else ""

    survey_data = check.sub(data, (), "survey", required=False)
    check.table(survey_data, ("survey",), {"languages", "version"})
    languages = _parse_languages(check, survey_data.get("languages", ["fr", "en"]))

    repeats_data = check.sub(data, (), "repeated_presses", required=False)
    rule = _parse_repeats(check, repeats_data)

    questions = _parse_questions(check, data.get("questions"), languages)
    display = _parse_display(check, check.sub(data, (), "display", required=False))
    version = survey_data.get("version")
    if isinstance(version, str) and version.strip():
        _check_version(check, version)
    targets = _parse_targets(check, check.sub(data, (), "targets", required=False))
    followup = _parse_followup(check, check.sub(data, (), "followup", required=False), questions)
    retention_days = _parse_storage(check, check.sub(data, (), "storage", required=False))
    if check.problems:
        return None, check.problems
    if not isinstance(version, str) or not version.strip():
        version = survey_version(data.get("questions", []))
    survey = Survey(questions=tuple(questions), languages=tuple(languages), version=version)
    return KioskConfig(
        store=store,
        device_id=device_id,
        survey=survey,
        repeats=rule,
        display=display,
        targets=targets,
        followup=followup,
        retention_days=retention_days,
    ), []


MAX_RETENTION_DAYS = 3660


def _parse_storage(check: _Checker, data: Mapping[str, Any]) -> int:
    """`retention_days`: how long an answer stays on the kiosk once head office has acknowledged it."""
    key: Key = ("storage",)
    check.table(data, key, {"retention_days"})
    value = data.get("retention_days", 90)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RETENTION_DAYS:
        check.fail(
            (*key, "retention_days"), f"must be a whole number from 1 to {MAX_RETENTION_DAYS}, not {value!r}"
        )
        return 90
    return value


def _parse_repeats(check: _Checker, data: Mapping[str, Any]) -> RepeatRule:
    """`gap_seconds` and `min_visits` (the visit rule); the former rule's `window_seconds` and `min_run`
    are still accepted so that older files load, and `window_seconds = 0` still turns the rule off."""
    key: Key = ("repeated_presses",)
    check.table(data, key, {"gap_seconds", "min_visits", "window_seconds", "min_run"})
    defaults = RepeatRule()
    runs = {}
    for name in ("min_visits", "min_run"):
        value = data.get(name, defaults.min_run)
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 100:
            check.fail((*key, name), f"must be a whole number from 2 to 100, not {value!r}")
            value = defaults.min_run
        runs[name] = value
    old_window = check.number(data, key, "window_seconds", 10.0, 0.0, 86_400.0)
    gap = check.number(data, key, "gap_seconds", defaults.window_seconds, 0.0, 600.0)
    return RepeatRule(window_seconds=0.0 if old_window == 0 else gap, min_run=runs["min_visits"])


def _parse_targets(check: _Checker, data: Mapping[str, Any]) -> Targets:
    key: Key = ("targets",)
    check.table(data, key, {"nps", "csat", "happy_index"})
    bounds = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "happy_index": (0.0, 100.0)}
    goals: dict[str, float | None] = {}
    for name, (low, high) in bounds.items():
        goals[name] = check.number(data, key, name, 0.0, low, high) if name in data else None
    return Targets(**goals)


def _parse_followup(check: _Checker, data: Mapping[str, Any], questions: Sequence[Question]) -> Followup:
    key: Key = ("followup",)
    check.table(data, key, {"enabled", "qr_seconds", "low_at_most"})
    defaults = Followup()
    enabled = data.get("enabled", defaults.enabled)
    if not isinstance(enabled, bool):
        check.fail((*key, "enabled"), f"must be true or false, not {enabled!r}")
        enabled = defaults.enabled
    value = data.get("qr_seconds", defaults.qr_seconds)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 5 <= value <= 120:
        check.fail((*key, "qr_seconds"), f"must be a number from 5 to 120 (seconds), not {value!r}")
        value = defaults.qr_seconds
    rules = data.get("low_at_most", {})
    low: list[tuple[str, int]] = []
    if not isinstance(rules, dict):
        check.fail((*key, "low_at_most"), f"must be a table like {{ satisfaction = 2 }}, not {rules!r}")
        rules = {}
    scales = {q.id: q.scale for q in questions}
    for question_id, at_most in rules.items():
        where = (*key, "low_at_most", question_id)
        if question_id not in scales:
            check.fail(where, f"no question {question_id!r} in the survey")
            continue
        scale = scales[question_id]
        if scale is None:
            check.fail(where, f"question {question_id!r} has no numeric scale (a choice is never low)")
            continue
        if (
            isinstance(at_most, bool)
            or not isinstance(at_most, int)
            or not scale[0] - 1 <= at_most <= scale[1]
        ):
            check.fail(
                where, f"must be a whole number from {scale[0] - 1} (none low) to {scale[1]}, not {at_most!r}"
            )
            continue
        low.append((question_id, at_most))
    return Followup(enabled=enabled, qr_seconds=float(value), low_at_most=tuple(low))


def _parse_display(check: _Checker, data: Mapping[str, Any]) -> Display:
    key: Key = ("display",)
    check.table(
        data,
        key,
        {
            "thank_you_seconds",
            "idle_timeout_seconds",
            "accent_colour",
            "logo",
            "export_dir",
            "manager_hold_seconds",
            "scale_colours",
        },
    )
    defaults = Display()
    bounded = {
        # (low, high): a thank-you shorter than 1 s is unreadable; an idle timeout under 5 s resets a
        # shopper who is still reading the question.
        "thank_you_seconds": (1.0, 30.0),
        "idle_timeout_seconds": (5.0, 600.0),
        "manager_hold_seconds": (1.0, 10.0),
    }
    numbers: dict[str, float] = {}
    for name, (low, high) in bounded.items():
        default = float(getattr(defaults, name))
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            check.fail((*key, name), f"must be a number from {low:g} to {high:g} (seconds), not {value!r}")
            value = default
        numbers[name] = float(value)
    accent = data.get("accent_colour", defaults.accent_colour)
    if not isinstance(accent, str) or not _COLOUR.match(accent):
        check.fail((*key, "accent_colour"), f'must be a colour like "#1F5FAF", not {accent!r}')
        accent = defaults.accent_colour
    paths = {name: check.text(data, key, name) if name in data else None for name in ("logo", "export_dir")}
    scale_colours = data.get("scale_colours", defaults.scale_colours)
    if scale_colours not in ("neutral", "zones"):
        check.fail((*key, "scale_colours"), f'must be "neutral" or "zones", not {scale_colours!r}')
        scale_colours = defaults.scale_colours
    return Display(
        thank_you_seconds=numbers["thank_you_seconds"],
        idle_timeout_seconds=numbers["idle_timeout_seconds"],
        manager_hold_seconds=numbers["manager_hold_seconds"],
        accent_colour=accent,
        logo=paths["logo"] or None,
        export_dir=paths["export_dir"] or None,
        scale_colours=scale_colours,
    )


def _parse_languages(check: _Checker, languages: Any) -> list[str]:
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and _LANGUAGE.match(x) for x in languages)
        or len(set(languages)) != len(languages)
    ):
        check.fail(
            ("survey", "languages"),
            f"must be a list of distinct language codes like ['fr', 'en'], not {languages!r}",
        )
        return ["fr", "en"]
    return languages


def _check_version(check: _Checker, version: str) -> None:
    if len(version) > MAX_VERSION or not version.isprintable():
        # Head office would refuse every answer naming it: refused here, where it can be fixed.
        check.fail(("survey", "version"), f"must be a text of at most {MAX_VERSION} characters on one line")


def survey_from_definition(data: Any) -> Survey:
    """The survey a definition (`kiosk.domain.answers.survey_definition`: ids, kinds, options, show_if, no
    texts) describes, checked by the very code that checks kiosk.toml's [survey] and [[questions]] (what
    `kiosk-central set-config` runs), so head office learns from a kiosk only a survey it would have accepted
    as a file; SurveyDefinitionError naming the first problem."""
    if not isinstance(data, dict):
        raise SurveyDefinitionError("survey: must be an object")
    check = _Checker(texts_required=False)
    languages = _parse_languages(check, data.get("languages", ["fr"]))
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        check.fail(("survey", "version"), "missing: a survey version names every answer")
    else:
        _check_version(check, version)
    raw = data.get("questions")
    items: Any = raw
    if isinstance(raw, list):
        # The definition's compact forms back to the file's: options as ids, empty ones and no show_if left out.
        items = []
        for item in raw:
            if isinstance(item, dict):
                item = {k: v for k, v in item.items() if not (k in ("options", "show_if") and not v)}
                options = item.get("options")
                if isinstance(options, list):
                    item["options"] = [{"id": o} if isinstance(o, str) else o for o in options]
            items.append(item)
    questions = _parse_questions(check, items, languages)
    if check.problems:
        key, message = check.problems[0]
        raise SurveyDefinitionError(f"{key_name(key)}: {message}")
    return Survey(questions=tuple(questions), languages=tuple(languages), version=str(version))


def survey_version(questions: Any) -> str:
    """A short digest of the questions: it changes whenever what is asked changes."""
    canonical = json.dumps(questions, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _parse_questions(check: _Checker, raw: Any, languages: Sequence[str]) -> list[Question]:
    if raw is None:
        check.fail(("questions",), "missing: add at least one [[questions]] table")
        return []
    if not isinstance(raw, list) or not all(isinstance(q, dict) for q in raw) or not raw:
        check.fail(("questions",), "must be a non-empty list of [[questions]] tables")
        return []
    if len(raw) > MAX_SURVEY_QUESTIONS:
        # Head office keeps no longer survey: refused here, not answer by answer later.
        check.fail(("questions",), f"at most {MAX_SURVEY_QUESTIONS} questions, not {len(raw)}")
        return []
    questions: list[Question] = []
    seen: dict[str, int] = {}
    # Questions already reported as broken: a later show_if naming one would only repeat the problem.
    broken: set[str] = set()
    for index, item in enumerate(raw):
        key: Key = ("questions", index)
        check.table(item, key, {"id", "kind", "text", "options", "show_if"})
        qid = check.identifier(item, key, "id")
        if qid in seen:
            check.fail((*key, "id"), f"duplicate question id {qid!r} (also questions[{seen[qid]}])")
        seen.setdefault(qid, index)
        kind_text = item.get("kind")
        try:
            kind = Kind(kind_text)
        except ValueError:
            check.fail((*key, "kind"), f"unknown kind {kind_text!r} (expected one of {', '.join(Kind)})")
            broken.add(qid)
            continue
        if kind is Kind.TEXT and not questions and index == 0:
            check.fail((*key, "kind"), FIRST_NOT_TEXT)
        text = check.texts(item, key, "text", languages)
        options = _parse_options(check, item, key, kind, languages)
        show_if = None if _names_broken(item, broken) else _parse_show_if(check, item, key, questions)
        questions.append(Question(id=qid, kind=kind, text=text, options=options, show_if=show_if))
    return questions


def _names_broken(item: Mapping[str, Any], broken: set[str]) -> bool:
    show_if = item.get("show_if")
    return isinstance(show_if, dict) and show_if.get("question") in broken


def _parse_options(
    check: _Checker, item: Mapping[str, Any], key: Key, kind: Kind, languages: Sequence[str]
) -> tuple[Option, ...]:
    raw = item.get("options")
    if kind is not Kind.CHOICE:
        if raw is not None:
            check.fail((*key, "options"), f"only a 'choice' question has options, not a {kind} one")
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(o, dict) for o in raw):
        check.fail(
            (*key, "options"), 'a choice question needs a list of options like { id = "price", text = { … } }'
        )
        return ()
    if len(raw) > MAX_OPTIONS:
        check.fail((*key, "options"), f"at most {MAX_OPTIONS} options, not {len(raw)}")
        return ()
    options: list[Option] = []
    for index, option in enumerate(raw):
        okey: Key = (*key, "options", index)
        check.table(option, okey, {"id", "text"})
        oid = check.identifier(option, okey, "id")
        if any(o.id == oid for o in options):
            check.fail((*okey, "id"), f"duplicate option id {oid!r}")
        options.append(Option(id=oid, text=check.texts(option, okey, "text", languages)))
    return tuple(options)


def _parse_show_if(
    check: _Checker, item: Mapping[str, Any], key: Key, earlier: Sequence[Question]
) -> ShowIf | None:
    raw = item.get("show_if")
    if raw is None:
        return None
    skey: Key = (*key, "show_if")
    if not isinstance(raw, dict):
        check.fail(skey, 'must be a table like { question = "satisfaction", min = 1, max = 2 }')
        return None
    check.table(raw, skey, {"question", "min", "max"})
    target_id = raw.get("question")
    target = next((q for q in earlier if q.id == target_id), None)
    if target is None or target.scale is None:
        check.fail((*skey, "question"), f"{target_id!r} is not an earlier question with a numeric scale")
        return None
    low, high = raw.get("min", target.scale[0]), raw.get("max", target.scale[1])
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not (
        target.scale[0] <= low <= high <= target.scale[1]
    ):
        check.fail(
            skey,
            f"min and max must be whole numbers with {target.scale[0]} <= min <= max <= {target.scale[1]}",
        )
        return None
    return ShowIf(question=target.id, low=low, high=high)


def read_text_file(path: Path, missing: str = "no such file") -> str:
    """A text file every file here is read as (kiosk.toml, the alerts file, the store directory): UTF-8, or a
    ConfigError of one line naming the file and, for bad bytes, their line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: {missing}"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError([f"{path}:{line}: not UTF-8 text"]) from None


def load_config(path: Path) -> KioskConfig:
    """Read and check a configuration file; ConfigError lists every problem with file and line."""
    source = read_text_file(path, "no such file (create one with `kiosk init`)")
    return check_config_text(source, str(path))


def check_config_text(source: str, origin: str) -> KioskConfig:
    """Check the text of a configuration; ConfigError lists every problem as `ORIGIN:LINE: key: problem`.

    `origin` names where the text comes from (a file path, or head office)."""
    config, problems = parse_config(read_toml(source, origin))
    if config is None:
        lines = []
        for key, message in problems:
            found = locate(source, key)
            where = f"{origin}:{found}" if found else origin
            lines.append(f"{where}: {key_name(key)}: {message}")
        raise ConfigError(lines)
    return config


def read_toml(source: str, origin: str) -> dict[str, Any]:
    """The TOML document, or ConfigError with one `ORIGIN:LINE: invalid TOML: ...` line (every file here:
    kiosk.toml, the alerts file)."""
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        where = f"{origin}:{match.group(1)}" if match else origin
        message = re.sub(r"\s*\(at line.*\)$", "", str(error)) if match else str(error)
        raise ConfigError([f"{where}: invalid TOML: {message}"]) from None
    except (ValueError, RecursionError) as error:
        # tomllib lets these through (a traceback before): a number of more than 4300 digits, or arrays
        # and tables nested thousands deep.
        raise ConfigError([unparsable_toml(origin, source, error)]) from None


def unparsable_toml(path: Path | str, source: str, error: ValueError | RecursionError) -> str:
    """The one-line problem for what tomllib raises besides TOMLDecodeError, on the line that caused it."""
    if isinstance(error, RecursionError):
        message, worst = "invalid TOML: arrays or tables nested too deeply", re.compile(r"[\[{]")
    else:
        message, worst = "invalid TOML: a number with too many digits", re.compile(r"[0-9_]")
    lines = source.splitlines() or [""]
    line = max(range(len(lines)), key=lambda i: len(worst.findall(lines[i])))
    return f"{path}:{line + 1}: {message}"


DEFAULT_TEMPLATE = """\
# Configuration of one feedback kiosk. Check it with `kiosk doctor` after editing.

[store]
# Store identity, as head office knows it.
id = {store_id}
name = {store_name}
# IANA time zone of the store: scores count answers per local calendar day (summer time included).
timezone = {timezone}

[device]
# This kiosk, unique within the store.
id = {device_id}

[survey]
# Languages offered on screen; the first one is shown by default. Every text below needs each of them.
languages = ["fr", "en"]
# version = "2026-11"  # recorded with each answer; by default a digest of the questions below

# A finger pressing one spot again and again (a child, a leaning bag) answers every screen alike. Visits that
# answer alike, each starting at most `gap_seconds` after the previous one's last answer, form a run; a run
# of `min_visits` visits is flagged whole, once its visits have ended. Flagged visits are kept and exported,
# but left out of the scores (counted as repeated presses). gap_seconds = 0 turns the rule off. The defaults
# come from the traffic simulator (docs/repeated-presses.md); with a longer thank_you_seconds below, raise
# gap_seconds by as much.
[repeated_presses]
gap_seconds = 6
min_visits = 3

# The touchscreen (`kiosk run`). Every key is optional; these are the defaults.
[display]
thank_you_seconds = 3        # how long "thank you" stays; taps meanwhile are ignored
idle_timeout_seconds = 20    # a shopper who walks away mid-survey: back to the start (answers are kept)
accent_colour = "#1F5FAF"    # header colour; the text on it is black or white, whichever reads better
manager_hold_seconds = 3     # press the top-left corner this long to open the manager PIN pad
# logo = "logo.png"          # shown in the header; relative paths are from this directory
# export_dir = "/media/usb"  # where the manager screen writes its CSV export (default: exports/ here)
# scale_colours = "zones"    # 0-10 buttons coloured by NPS zone (default "neutral": one colour, fairer answers)

# After a low score the thank-you screen says sorry and, once this kiosk is paired with head office and has
# its follow-up key, shows a QR code: the shopper's phone opens a short page to say more or ask to be
# contacted. Every key is optional; these are the defaults.
[followup]
enabled = true               # false: the usual thank-you after every visit
qr_seconds = 15              # how long the QR code stays (5-120); a tap ends it
# An answer at or below this value is low. By default: the two lowest faces of a smiley question, 0-6 on
# NPS, nothing on other kinds. Below the scale (0 for faces, -1 for NPS) turns a question off.
# low_at_most = {{ satisfaction = 2, recommend = 6 }}

# The answers on this kiosk (optional). Unsent answers are never deleted; an answer head office has
# acknowledged is deleted this many days after its upload (1-3660, default 90); the day's scores stay as they
# were. Kiosks older than this key refuse a file that has the table: add it once they are all updated.
# [storage]
# retention_days = 90

# The store's goals, shown beside the figures on the manager screen (optional; head office may set them).
# [targets]
# nps = 30
# csat = 85
# happy_index = 75

# The questions, in the order they are asked.
# kind: smiley5 (faces 1..5), smiley4 (faces 1..4), nps (0..10), ces7 (1..7), choice (one of the options),
# text (an optional comment typed on an on-screen keyboard, at most {max_text} characters, never scored; not first).
# show_if: ask only when an earlier answer of the same visit lies between min and max.

[[questions]]
id = "satisfaction"
kind = "smiley5"
text = {{ fr = "Comment s'est passée votre visite aujourd'hui ?", en = "How was your visit today?" }}

[[questions]]
id = "reason"
kind = "choice"
show_if = {{ question = "satisfaction", min = 1, max = 2 }}
text = {{ fr = "Qu'est-ce qui n'allait pas ?", en = "What went wrong?" }}
options = [
  {{ id = "waiting", text = {{ fr = "Temps d'attente", en = "Waiting time" }} }},
  {{ id = "staff", text = {{ fr = "Accueil du personnel", en = "Staff" }} }},
  {{ id = "price", text = {{ fr = "Prix", en = "Price" }} }},
  {{ id = "cleanliness", text = {{ fr = "Propreté", en = "Cleanliness" }} }},
  {{ id = "availability", text = {{ fr = "Produits manquants", en = "Product availability" }} }},
]

[[questions]]
id = "recommend"
kind = "nps"
text = {{ fr = "Recommanderiez-vous ce magasin à un proche ?", en = "How likely are you to recommend this store to a friend?" }}
"""


def default_config_text(store_id: str, device_id: str, timezone: str, store_name: str) -> str:
    return DEFAULT_TEMPLATE.format(
        store_id=_toml_string(store_id),
        store_name=_toml_string(store_name),
        timezone=_toml_string(timezone),
        device_id=_toml_string(device_id),
        max_text=MAX_TEXT,
    )


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


__all__ = ["SCALES", "ConfigError", "default_config_text", "load_config", "locate", "parse_config"]
