"""The `kiosk` command line: a thin layer over the store, the importer and the scoring.

User mistakes end with a one-line error on stderr and a non-zero exit code: 2 for bad input (a value, a
file, the configuration), 1 when the machine is in the way (a locked or read-only database, a full disk).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from kiosk import __version__
from kiosk.bootstrap import Kiosk, open_kiosk
from kiosk.config import ConfigError, default_config_text, load_config
from kiosk.domain.days import TimeError, parse_day, parse_timestamp
from kiosk.domain.survey import AnswerError
from kiosk.export import FORMATS, export_to_file, write_answers
from kiosk.importer import ImportFileError, check_file, guess_format, read_text
from kiosk.paths import KioskPaths, default_data_dir
from kiosk.storage import (
    NewAnswer,
    StoreError,
)

F = TypeVar("F", bound=Callable[..., Any])

BAD_INPUT = 2
BLOCKED = 1
MAX_RANGE_DAYS = 3660
PROGRESS_MIN_BYTES = 1_000_000


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    click.echo(f"kiosk: {message}", err=True)
    sys.exit(code)


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="KIOSK_HOME",
        default=default_data_dir,
        show_default="$KIOSK_HOME, else the per-user data directory",
        help="Directory holding kiosk.toml and the database.",
    )(func)


@contextmanager
def opened(data_dir: Path, *, recover: bool = False) -> Iterator[Kiosk]:
    """Open the kiosk, turning every expected failure into a one-line error (`recover`: see open_kiosk)."""
    try:
        kiosk = open_kiosk(data_dir, recover=recover)
    except ConfigError as error:
        fail(str(error))
    except StoreError as error:
        fail(str(error), BLOCKED)
    try:
        yield kiosk
    except StoreError as error:
        fail(str(error), BLOCKED)
    except AnswerError as error:
        fail(str(error))
    except sqlite3.DatabaseError as error:
        # Damage the cheap checks at open cannot see (scrambled pages): found only when a page is read.
        fail(
            f"{kiosk.paths.database}: damaged ({error}); the file is left as it is (`kiosk doctor` says "
            "more; `kiosk run` keeps it aside and starts a fresh database)",
            BLOCKED,
        )
    finally:
        kiosk.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kiosk")
def main() -> None:
    """In-store customer-feedback kiosk: record answers offline and read honest daily scores.

    Start with `kiosk init --store-id ID --device-id ID`, then `kiosk record`, `kiosk import` and
    `kiosk scores`. Every command works on one data directory (--data-dir, or $KIOSK_HOME).
    """


@main.command()
@click.option("--store-id", required=True, help="The store, as head office knows it (e.g. paris-01).")
@click.option("--device-id", required=True, help="This kiosk, unique within the store (e.g. till-1).")
@click.option("--timezone", default="Europe/Paris", show_default=True, help="IANA time zone of the store.")
@click.option("--store-name", help="Name shown on screen (default: the store id).")
@click.option(
    "--force", is_flag=True, help="Rewrite an existing kiosk.toml (stored answers are always kept)."
)
@click.option("--exist-ok", is_flag=True, help="Leave an existing kiosk as it is and succeed (for scripts).")
@data_dir_option
def init(
    store_id: str,
    device_id: str,
    timezone: str,
    store_name: str | None,
    force: bool,
    exist_ok: bool,
    data_dir: Path,
) -> None:
    """Create a kiosk: a commented default kiosk.toml and an empty database."""
    paths = KioskPaths(data_dir)
    if paths.config.exists() and exist_ok and not force:
        click.echo(f"Kiosk already set up in {data_dir}; left as it is")
        return
    if paths.config.exists() and not force:
        fail(
            f"{paths.config} already exists: this directory already holds a kiosk (use --force to rewrite "
            "its configuration; answers are kept)"
        )
    text = default_config_text(store_id, device_id, timezone, store_name or store_id)
    tmp = data_dir / f".kiosk.toml.{uuid.uuid4().hex}.tmp"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        # Checked before it replaces anything, so a bad --timezone or id leaves the directory as it was.
        load_config(tmp)
        kept = paths.database.exists()
        tmp.replace(paths.config)
    except ConfigError as error:
        fail(f"cannot create the kiosk: {error.problems[0].split(': ', 1)[-1]}")
    except OSError as error:
        fail(f"cannot write in {data_dir}: {error.strerror}", BLOCKED)
    finally:
        _remove_quietly(tmp)
    with opened(data_dir) as kiosk:
        count = kiosk.store.answer_count()
    click.echo(f"Kiosk {store_id}/{device_id} ready in {data_dir}")
    click.echo(f"  configuration: {paths.config}")
    click.echo(f"  database:      {paths.database}" + (f" (kept, {count} answers)" if kept else ""))


def _remove_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _now() -> dt.datetime:
    from kiosk.bootstrap import utc_now

    return utc_now()


@main.command()
@click.argument("question")
@click.argument("value")
@click.option(
    "--at",
    "at",
    metavar="ISO8601",
    help="When it was tapped (default: now). Without an offset: store-local time.",
)
@click.option("--session", metavar="ID", help="Add to this visit (default: a new visit).")
@click.option("--language", help="Language the answer was given in (default: the survey's first).")
@data_dir_option
def record(
    question: str, value: str, at: str | None, session: str | None, language: str | None, data_dir: Path
) -> None:
    """Store one answer, exactly as a tap on the kiosk would.

    QUESTION is a question id of kiosk.toml (e.g. satisfaction), VALUE the face, score or option id.
    """
    with opened(data_dir) as kiosk:
        try:
            when = _now() if at is None else parse_timestamp(at, kiosk.config.store.tz)
        except TimeError as error:
            fail(f"--at: {error}")
        answer = kiosk.recorder.record(
            NewAnswer(
                question_id=question, value=value, created_at=when, session_id=session, language=language
            )
        )
        local = answer.created_at.astimezone(kiosk.config.store.tz)
        flag = " (flagged as a repeated press)" if answer.suspect else ""
        click.echo(
            f"Recorded {answer.question_id} = {answer.value} at {local:%Y-%m-%d %H:%M:%S} "
            f"{kiosk.config.store.timezone}{flag}"
        )
        click.echo(f"  visit {answer.session_id}, answer {answer.id}")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from the name or content)."
)
@data_dir_option
def import_(file: Path, fmt: str | None, data_dir: Path) -> None:
    """Import answers from a CSV or JSON Lines file, all or nothing.

    CSV header: created_at,question,value and optionally session,id,language (a `kiosk export` file is
    accepted as is). JSON Lines: one object per line with the same keys. Times with an offset or Z are
    taken as they are; times without one are store-local. Any bad line rejects the whole file.
    """
    with opened(data_dir) as kiosk:
        try:
            text = read_text(file)
        except ImportFileError as error:
            fail(str(error))
        fmt = fmt or guess_format(file, text)
        large = len(text) >= PROGRESS_MIN_BYTES
        with (
            click.progressbar(length=len(text), label=f"Checking {file.name}", file=sys.stderr)
            if large
            else nullcontext()
        ) as bar:
            parsed = check_file(kiosk.store, text, fmt, bar.update if bar is not None else None)
        if parsed.problem_count:
            for problem in parsed.problems:
                click.echo(f"{file}:{problem.removeprefix('line ')}", err=True)
            more = parsed.problem_count - len(parsed.problems)
            if more:
                click.echo(f"{file}: … and {more} more problems", err=True)
            fail(
                f"{file}: {parsed.problem_count} bad line{'s' if parsed.problem_count > 1 else ''}; "
                "nothing imported"
            )
        if large:
            with click.progressbar(length=len(parsed.answers), label="Storing", file=sys.stderr) as bar:
                result = kiosk.recorder.import_answers(parsed.answers, bar.update)
        else:
            result = kiosk.recorder.import_answers(parsed.answers)
        click.echo(
            f"Imported {result.imported} answers from {file}"
            + (f" ({result.already_present} already present, skipped)" if result.already_present else "")
        )


def _day_range(kiosk: Kiosk, day: str | None, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    try:
        if day is not None:
            if start or end:
                fail("--day cannot be combined with --from/--to")
            first = last = parse_day(day)
        else:
            today = kiosk.today(_now())
            last = parse_day(end) if end else today
            first = parse_day(start) if start else last
    except TimeError as error:
        fail(str(error))
    if first > last:
        fail(f"--from {first} is after --to {last}")
    if (last - first).days >= MAX_RANGE_DAYS:
        fail(f"the range {first} .. {last} is longer than {MAX_RANGE_DAYS} days")
    return first, last


@main.command()
@click.option("--day", metavar="YYYY-MM-DD", help="One store-local day (default: today).")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="First day of a range.")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day of a range (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@data_dir_option
def scores(day: str | None, start: str | None, end: str | None, as_json: bool, data_dir: Path) -> None:
    """Daily scores per question: answers, CSAT, Happy Index, NPS, CES, reasons.

    Days are the store's local calendar days. Repeated presses are left out and counted as excluded.
    """
    with opened(data_dir) as kiosk:
        first, last = _day_range(kiosk, day, start, end)
        report = kiosk.scores(first, last)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render_scores(report))


def _fmt(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{suffix}"


def _score_line(qid: str, q: dict[str, Any]) -> str:
    if q["kind"] == "text":  # typed comments: counted, not scored
        detail, mean = "comments, not scored", ""
    elif q["kind"] == "choice":
        removed = set(q.get("removed", ()))
        given = [
            f"{k}{' (removed)' if k in removed else ''} {n}"
            for k, n in sorted(q["counts"].items(), key=lambda kv: -kv[1])
            if n
        ]
        detail = ", ".join(given) or "—"
        mean = ""
    else:
        mean = _fmt(q["mean"])
        if q["kind"] == "nps":
            nps = "—" if q["nps"] is None else f"{q['nps']:+.1f}"
            detail = f"NPS {nps} ({q['promoters']} promoters, {q['passives']} passives, {q['detractors']} detractors)"
        elif q["kind"] == "ces7":
            detail = f"easy {_fmt(q['ces_easy'], '%')}"
        else:
            detail = f"CSAT {_fmt(q['csat'], '%')}  Happy Index {_fmt(q['happy_index'])}"
        if q.get("invalid"):
            detail += f"  ({q['invalid']} invalid values left out)"
    return f"  {qid:<16}{q['kind']:<9}{q['responses']:>8}{q['excluded']:>10}{mean:>7}  {detail}"


def render_scores(report: dict[str, Any]) -> str:
    lines = [f"{report['store_name']} ({report['store']}) · {report['timezone']}"]
    for day in report["days"]:
        lines.append("")
        lines.append(day["day"])
        lines.append(f"  {'question':<16}{'kind':<9}{'answers':>8}{'excluded':>10}{'mean':>7}  scores")
        for qid, q in day["questions"].items():
            lines.append(_score_line(qid, q))
            # The same question asked with another kind that day (the survey changed): its own scale.
            for other in q.get("other_kinds", {}).values():
                lines.append(_score_line(f"  (as {other['kind']})", other))
    return "\n".join(lines)


@main.command()
@click.option(
    "--from", "start", metavar="YYYY-MM-DD", help="First store-local day (default: the first answer)."
)
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last store-local day (default: the last answer).")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: from -o, else csv)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout)."
)
@data_dir_option
def export(start: str | None, end: str | None, fmt: str | None, output: Path | None, data_dir: Path) -> None:
    """Export every stored answer, repeated presses included (suspect = 1)."""
    try:
        first = parse_day(start) if start else None
        last = parse_day(end) if end else None
    except TimeError as error:
        fail(str(error))
    if first and last and first > last:
        fail(f"--from {first} is after --to {last}")
    fmt = fmt or ("jsonl" if output is not None and output.suffix.lower() in (".jsonl", ".json") else "csv")
    with opened(data_dir) as kiosk:
        if output is None:
            numeric = {q.id for q in kiosk.config.survey.questions if q.scale is not None}
            write_answers(sys.stdout, kiosk.store.answers(first, last), fmt, numeric)
            return
        try:
            count = export_to_file(kiosk.store, output, fmt, first, last)
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror}", BLOCKED)
    click.echo(f"Exported {count} answers to {output}", err=True)


@main.command()
@click.option("--min-free-mb", default=100, show_default=True, help="Free disk below this is a problem.")
@data_dir_option
def doctor(min_free_mb: int, data_dir: Path) -> None:
    """Check the kiosk: configuration, database integrity, free disk and the device clock."""
    from kiosk.doctor import run_checks

    problems = 0
    for check in run_checks(data_dir, min_free_mb, _now()):
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.what}")
        problems += not check.ok
    if problems:
        fail(f"{problems} problem{'s' if problems > 1 else ''} found", BLOCKED)
    click.echo("All checks passed.")


# -- sync to head office (the logic lives in sync/; these commands only wire it to the command line) --------


@main.command()
@click.argument("url")
@click.argument("token", required=False)
@click.option(
    "--token-stdin",
    is_flag=True,
    help="Read the device token from the first line of standard input (keeps it out of ps and history).",
)
@click.option(
    "--code",
    "use_code",
    is_flag=True,
    help="Pair with a one-time enrolment code from head office (asked for, or read from stdin).",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA certificates to trust for head office (default: the system's).",
)
@click.option("--allow-http", is_flag=True, help="Allow plain http:// to a non-loopback address (lab only).")
@click.option(
    "--offline",
    is_flag=True,
    help="Keep the pairing without asking head office (it is checked at the first sync instead).",
)
@data_dir_option
def pair(
    url: str,
    token: str | None,
    token_stdin: bool,
    use_code: bool,
    ca_bundle: Path | None,
    allow_http: bool,
    offline: bool,
    data_dir: Path,
) -> None:
    """Pair this kiosk with head office: check URL, certificate and token with head office, then store
    them (file mode 0600).

    Type the one-time code from `kiosk-central enrol` (or the head-office fleet page) with --code, or,
    for scripted installs, pipe the token printed by `kiosk-central add-device` into --token-stdin
    (TOKEN on the command line still works in this release, with a warning).
    """
    from sync.outbox import Outbox
    from sync.pair_check import check_pairing
    from sync.pairing import Pairing, PairingError, check_url, exchange_code, save_pairing

    if sum((token is not None, token_stdin, use_code)) != 1:
        fail("give one of --code (enrolment code), --token-stdin or TOKEN, not both")
    if token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            fail("--token-stdin: standard input holds no token")
    elif token is not None:
        click.echo(
            "kiosk pair: warning: a token on the command line is visible to other users (ps, shell "
            "history); use --code or --token-stdin (TOKEN as an argument goes away in the next release)",
            err=True,
        )
    try:
        clean = check_url(url, allow_http)
        with opened(data_dir) as kiosk:
            store, device = kiosk.config.store.id, kiosk.config.device_id
            # Absolute: the sync jobs run from another working directory than this command.
            bundle = str(ca_bundle.resolve()) if ca_bundle else None
            if use_code:
                code = (
                    click.prompt("Enrolment code", err=True) if sys.stdin.isatty() else sys.stdin.readline()
                )
                if not code.strip():
                    fail("no enrolment code given")
                token = exchange_code(clean, store, device, code.strip(), bundle)
            assert token is not None
            pairing = Pairing(clean, token.strip(), bundle, allow_http)
            if not offline:
                check_pairing(pairing, store, device)
            path = save_pairing(data_dir, pairing)
            # A new token ends a previous auth problem and any backoff: the next upload tries at once.
            Outbox(kiosk.store).set_state(
                {"auth_problem": None, "failures": None, "next_attempt_at": None, "config_etag": None}
            )
    except PairingError as error:
        fail(
            f"not paired: {error}",
            BLOCKED if str(error).startswith(("URL: cannot reach", "URL: no answer")) else BAD_INPUT,
        )
    except OSError as error:
        fail(f"cannot write the pairing in {data_dir}: {error.strerror}", BLOCKED)
    checked = "not checked with head office (--offline)" if offline else "checked with head office"
    click.echo(f"Paired {store}/{device} with {clean}, {checked} ({path}, readable by its owner only)")


@main.command("sync")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Answers per request.",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds to wait for an answer.",
)
@click.option(
    "--requeue",
    is_flag=True,
    help="First make the quarantined answers pending again (once head office fixed what it refused).",
)
@data_dir_option
def sync_(batch_size: int, timeout: float, requeue: bool, data_dir: Path) -> None:
    """Upload every pending answer to head office now (exit 0 only when nothing is left pending)."""
    from kiosk.bootstrap import utc_now
    from sync.client import CentralClient
    from sync.heartbeat import send_heartbeat
    from sync.outbox import Outbox
    from sync.pairing import PairingError, load_pairing
    from sync.uploader import drain

    try:
        pairing = load_pairing(data_dir)
    except PairingError as error:
        fail(str(error))
    with opened(data_dir) as kiosk:
        outbox = Outbox(kiosk.store)
        if requeue:
            click.echo(f"{outbox.requeue_quarantined()} quarantined answers sent again.", err=True)
        pending = outbox.pending_count()
        client = CentralClient(pairing, timeout=(min(timeout, 10.0), timeout))
        try:
            with click.progressbar(length=pending, label="Uploading", file=sys.stderr) as bar:
                result = drain(
                    outbox,
                    client,
                    kiosk.config.store.id,
                    kiosk.config.device_id,
                    batch_size=batch_size,
                    progress=bar.update,
                )
            # Head office then sees this kiosk's version, pending count and free disk (only when it was
            # reached: an unreachable one would cost another timeout for nothing).
            if result.ok or result.synced or result.quarantined:
                send_heartbeat(outbox, client, data_dir, utc_now())
        finally:
            client.close()
    done = f"{result.synced} uploaded" + (f", {result.quarantined} quarantined" if result.quarantined else "")
    if result.restored:
        click.echo(
            f"Head office holds fewer answers than it did (restored from a backup?): {result.restored} "
            "answers sent again.",
            err=True,
        )
    if not result.ok:
        hint = " (pair again with `kiosk pair URL --token-stdin`)" if result.auth_problem else ""
        fail(f"sync stopped: {result.reason}{hint}; {done}, {result.pending} still pending (kept)", BLOCKED)
    click.echo(f"Synced: {done}, nothing pending.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--quarantined", is_flag=True, help="List the quarantined answers (JSON Lines) instead.")
@data_dir_option
def status(as_json: bool, quarantined: bool, data_dir: Path) -> None:
    """Sync status: pending, quarantined, last success, last error, auth problem."""
    from sync.outbox import Outbox
    from sync.pairing import PairingError, load_pairing

    with opened(data_dir) as kiosk:
        outbox = Outbox(kiosk.store)
        if quarantined:
            for row in outbox.quarantine():
                click.echo(json.dumps(row, ensure_ascii=False))
            return
        report = outbox.status().as_dict()
    try:
        report["central_url"] = load_pairing(data_dir).url
    except PairingError as error:
        report["central_url"] = None
        report["pairing_problem"] = str(error)
    from sync.remote_config import config_report

    # Head office's configuration as this kiosk took it: the version applied, or the last one it refused.
    report.update(config_report(data_dir))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"head office:     {report['central_url'] or 'not paired (kiosk pair URL --token-stdin)'}")
    click.echo(f"pending:         {report['pending']}")
    click.echo(
        f"quarantined:     {report['quarantined']}"
        + (" (kiosk status --quarantined)" if report["quarantined"] else "")
    )
    for reason in report["quarantine_reasons"]:
        click.echo(f"  refused:       {reason}")
    if report["quarantined"]:
        click.echo("  (once head office fixed the cause: kiosk sync --requeue)")
    click.echo(f"synced:          {report['synced']}")
    click.echo(f"last success:    {report['last_success_at'] or 'never'}")
    if report["last_error"]:
        click.echo(f"last error:      {report['last_error']} (at {report['last_error_at']})")
    if report["next_attempt_at"]:
        click.echo(f"next attempt:    {report['next_attempt_at']}")
    if report["auth_problem"]:
        click.echo(f"PROBLEM:         head office refuses this kiosk: {report['auth_problem']}")
    if report["config_version"] is not None:
        click.echo(
            f"configuration:   version {report['config_version']} (applied {report['config_applied_at']})"
        )
    refused = report["config_refused"]
    if refused:
        click.echo(f"config refused:  version {refused.get('version')}: {refused.get('reason')}")
    if report["config_error"]:
        click.echo(f"config refused:  {report['config_error']}")


@main.command("set-pin")
@data_dir_option
def set_pin(data_dir: Path) -> None:
    """Set the manager PIN (4 to 8 digits) that opens the manager screen of `kiosk run`.

    It is stored as a salted scrypt hash in manager-pin.json of the data directory (mode 0600), never in
    kiosk.toml. From the fifth wrong PIN in a row, each locks the pad (60 s, then twice as long each time);
    setting the PIN again ends a lockout.
    """
    from kiosk.pin import PinError, check_pin_format, save_pin

    if not KioskPaths(data_dir).config.exists():
        fail(f"{data_dir} holds no kiosk (create one with `kiosk init`)")
    pin = click.prompt(
        "New manager PIN (4 to 8 digits)", hide_input=True, confirmation_prompt="Repeat the PIN"
    )
    try:
        path = save_pin(data_dir, check_pin_format(str(pin).strip()))
    except PinError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write in {data_dir}: {error.strerror}", BLOCKED)
    click.echo(f"Manager PIN saved in {path}")


@main.command()
@click.option(
    "--windowed", is_flag=True, help="A window instead of the full screen (to try it on a desktop)."
)
@click.option(
    "--size", default="800x480", show_default=True, metavar="WxH", help="Window size with --windowed."
)
@data_dir_option
def run(windowed: bool, size: str, data_dir: Path) -> None:
    """Start the touchscreen kiosk on this data directory's configuration and database.

    Full screen by default. Escape and the window's close button do nothing: the app closes only from
    the manager screen (hold the top-left corner, then the PIN set with `kiosk set-pin`).
    """
    from kiosk.pin import PinError
    from kiosk.ui.boot import configure_kivy, parse_size

    try:
        dimensions = parse_size(size)
    except ValueError as error:
        fail(str(error))
    from kiosk import bootstrap

    bootstrap.apply_pending_config(data_dir)
    with opened(data_dir, recover=True) as kiosk:
        try:
            parts = bootstrap.compose_app(kiosk)
        except PinError as error:
            fail(str(error))
        configure_kivy(kivy_home=data_dir / ".kivy", fullscreen=not windowed, size=dimensions)
        # Kivy is imported only now, after its configuration, and only by this command.
        from kiosk.ui import app

        try:
            app.run(
                parts.deps,
                report_ready=os.environ.get("KIOSK_REPORT_READY") == "1",
                after_start=parts.start_sync,
            )
        except app.DisplayUnavailable as error:
            # Kivy redirects sys.stderr into its log file; the user must see this line.
            sys.stderr = sys.__stderr__
            fail(str(error), BLOCKED)
        finally:
            if not parts.stop():
                # Said plainly: these taps were thanked but never reached the database.
                sys.stderr = sys.__stderr__
                import tempfile

                held = parts.holder.state
                saved = parts.holder.save_held([data_dir, Path(tempfile.gettempdir())], _now())
                click.echo(
                    f"kiosk: {held.held} answers held in memory could not be written ({held.problem}); "
                    + (f"saved in {saved}: `kiosk import {saved}` stores them" if saved else "they are lost"),
                    err=True,
                )


@main.command()
@click.option(
    "--screenshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the screenshot (default: selftest.png in the temporary directory).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary kiosk (data directory) for a look.")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds before the test gives up.",
)
def selftest(screenshot: Path | None, keep: bool, timeout: float) -> None:
    """Check this installation: start the app offscreen on a throwaway kiosk, tap the first face.

    Passes (exit 0) when the tap was stored and counted in today's scores, the translations were found
    and the window is not blank; prints the screenshot's path. Otherwise exits 1 with the reason. Needs
    no display and never touches $KIOSK_HOME.
    """
    from kiosk.selftest import SelftestError, run_selftest

    try:
        result = run_selftest(screenshot, keep=keep, timeout_s=timeout)
    except SelftestError as error:
        # Kivy may have redirected sys.stderr into its log file; the user must see this line.
        sys.stderr = sys.__stderr__
        fail(f"selftest failed: {error}", BLOCKED)
    sys.stderr = sys.__stderr__
    for line in result.lines():
        click.echo(line)
