"""The `kiosk-central` command line: serve the API, register devices and admins, set a store's config."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from kiosk import __version__
from sync.central.db import CentralDB, normalise_url
from sync.central.export import FORMATS, Format, count, export_to, raise_answer_numbers
from sync.central.personal import ContactKeyError, ContactKeys
from sync.central.service import CentralError, add_admin, add_device, check_id, revoke_device, set_config
from sync.central.settings import Settings, default_db_url, settings_from_env
from sync.protocol import SERVER_MAX_BATCH

db_option = click.option(
    "--db",
    "db_url",
    default=default_db_url,
    show_default="$KIOSK_CENTRAL_DB, else sqlite:///central.db",
    help="Database URL: sqlite:///FILE or postgresql://USER@HOST/DB.",
)


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"kiosk-central: {message}", err=True)
    sys.exit(code)


def cli_actor() -> str:
    """Who ran a command, for the audit log and the configuration history: "cli:" and the OS user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no name for this uid (a container)
        return "cli"


def open_db(url: str) -> CentralDB:
    try:
        return CentralDB(url)
    except (SQLAlchemyError, ImportError) as error:
        fail(f"cannot open {url}: {str(error).splitlines()[0]}", 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kiosk-central")
def main() -> None:
    """Reference head-office server of the feedback kiosk: receives answers, serves scores."""


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--max-batch",
    default=SERVER_MAX_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Answers per upload, at most.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (PostgreSQL; SQLite has one writer anyway).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help=(
        "Address of a reverse proxy whose X-Forwarded-For/-Proto to believe (repeat; default: "
        "$KIOSK_CENTRAL_TRUSTED_PROXIES, comma-separated, else none)."
    ),
)
def serve(
    db_url: str, host: str, port: int, max_batch: int, workers: int, trusted_proxies: tuple[str, ...]
) -> None:
    """Serve the API and the head-office pages (put a TLS-terminating proxy in front outside a lab)."""
    import os

    import uvicorn

    from sync.central.app import create_app
    from sync.central.settings import SecretKeyMissing, secret_key_for

    if workers > 1 and normalise_url(db_url).startswith("sqlite"):
        fail(
            f"--workers {workers} needs PostgreSQL: SQLite has one writer, so keep --workers 1 with "
            f"{db_url} (or use a postgresql:// URL)"
        )
    try:
        secret_key_for(db_url)  # the session key: from the environment, or made once next to SQLite
    except (SecretKeyMissing, OSError) as error:
        fail(f"no session key: {error}")
    # A bad setting stops here, before any worker starts; this process delivers notifications too.
    settings = _settings(db_url, max_batch=max_batch, background=True)
    trusted_proxies = trusted_proxies or settings.trusted_proxies
    db = open_db(db_url)  # creates the tables once, before any worker starts
    # After a restore from a dump, numbers restart above any handed out before it (sync/central/export.py).
    raise_answer_numbers(db)
    # The client address (per-address sign-in limits, Secure cookies behind TLS) comes from proxy headers
    # only when their sender is named; uvicorn would otherwise believe any proxy on 127.0.0.1.
    proxy: dict[str, Any] = {"proxy_headers": bool(trusted_proxies)}
    if trusted_proxies:
        proxy["forwarded_allow_ips"] = ",".join(trusted_proxies)
    if workers == 1:
        uvicorn.run(create_app(settings, db), host=host, port=port, **proxy)
        return
    db.dispose()
    os.environ["KIOSK_CENTRAL_DB"] = db_url
    os.environ["KIOSK_CENTRAL_MAX_BATCH"] = str(max_batch)
    uvicorn.run(
        "sync.central.app:create_app_from_env", factory=True, host=host, port=port, workers=workers, **proxy
    )


@main.command()
@db_option
def migrate(db_url: str) -> None:
    """Bring the database schema to this version (every server process also does it when it starts)."""
    from sync.central.db import schema_revision

    db = open_db(db_url)
    click.echo(f"database at schema revision {schema_revision(db.engine)}")


@main.command("add-device")
@click.option("--store", "store_id", required=True, help="Store id (as in its kiosk.toml).")
@click.option("--device", "device_id", required=True, help="Device id, unique within the store.")
@db_option
def add_device_cmd(store_id: str, device_id: str, db_url: str) -> None:
    """Register a device and print its token (shown once; a new one replaces the old)."""
    try:
        token = add_device(open_db(db_url), store_id, device_id, actor=cli_actor())
    except CentralError as error:
        fail(str(error))
    click.echo(token)
    click.echo(
        f"device {store_id}/{device_id}: on the kiosk, `kiosk pair URL --token-stdin < FILE` with this token",
        err=True,
    )


@main.command("revoke-device")
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--device", "device_id", required=True, help="Device id.")
@db_option
def revoke_device_cmd(store_id: str, device_id: str, db_url: str) -> None:
    """Revoke a device's token (a stolen or retired kiosk)."""
    if not revoke_device(open_db(db_url), store_id, device_id):
        fail(f"no device {store_id}/{device_id}")
    click.echo(f"revoked {store_id}/{device_id}")


@main.command("add-admin")
@click.argument("name")
@click.option("--group", default=None, help="Read only this group's stores (and its sub-groups').")
@click.option("--store", default=None, help="Read only this store.")
@click.option(
    "--expires-days",
    type=click.IntRange(1, 3660),
    default=None,
    help="The token stops working after this many days (default: never).",
)
@db_option
def add_admin_cmd(
    name: str, group: str | None, store: str | None, expires_days: int | None, db_url: str
) -> None:
    """Create a head-office API reader and print its token (shown once)."""
    import datetime as dt

    from sync.central.service import now_utc

    expires = now_utc() + dt.timedelta(days=expires_days) if expires_days else None
    try:
        click.echo(
            add_admin(open_db(db_url), name, group=group, store=store, expires_at=expires, actor=cli_actor())
        )
    except CentralError as error:
        fail(str(error))


def read_config_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except PermissionError:
        # Run as the service user, a file in the admin's home is unreadable: say so, and how to pass it.
        fail(
            f"{path}: permission denied for this user; pass it on standard input instead: "
            f"set-config --store STORE - < {path}"
        )
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory, not a kiosk.toml")
    except UnicodeDecodeError as error:
        fail(f"{path}: not UTF-8 text: {error}")
    except OSError as error:
        fail(f"{path}: cannot read: {error.strerror}")


def read_password_stdin() -> str:
    """The first line of standard input (a password is never an argument: it would show in `ps`)."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        fail("no password on standard input (echo ... | kiosk-central add-user NAME --password-stdin)")
    return password


@main.command("add-user")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "viewer", "manager"]),
    required=True,
    help="admin: everything; viewer: reads its scope; manager: reads its store or group.",
)
@click.option("--group", default=None, help="Scope: this group and its sub-groups.")
@click.option("--store", default=None, help="Scope: this store only.")
@click.option("--email", default=None, help="E-mail address (digests go there).")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option(
    "--digests",
    type=click.Choice(["both", "daily", "weekly", "none"]),
    default="both",
    show_default=True,
    help="Which digests of their scope the user gets at --email (they can change it on /account).",
)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@db_option
def add_user_cmd(
    name: str,
    role: str,
    group: str | None,
    store: str | None,
    email: str | None,
    language: str,
    digests: str,
    password_stdin: bool,
    db_url: str,
) -> None:
    """Create a head-office user who signs in to the web pages."""
    from sync.central.accounts import add_user, set_digests

    password = read_password_stdin()
    db = open_db(db_url)
    try:
        add_user(
            db,
            "cli",
            name,
            role,
            password,
            group=group,
            store=store,
            email=email,
            language=language,
        )
        if digests != "both":
            set_digests(db, "cli", name, digests)
    except CentralError as error:
        fail(str(error))
    click.echo(f"user {name} ({role}) added")


@main.command("set-stores")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def set_stores_cmd(file: Path, db_url: str) -> None:
    """Load the store directory (groups, names, time zones, opening hours, targets) from a TOML file."""
    from kiosk.config import ConfigError, read_text_file
    from sync.central.directory import DirectoryFileError, set_stores

    try:
        text = read_text_file(file)
    except ConfigError as error:
        fail(str(error))
    try:
        groups, entries = set_stores(open_db(db_url), "cli", text)
    except DirectoryFileError as error:
        fail(f"{file}:{error.line}: {error.problem}" if error.line else f"{file}: {error.problem}")
    except CentralError as error:
        fail(f"{file}: {error}")
    click.echo(f"{groups} groups and {entries} stores set")


@main.command("set-config")
@click.option("--store", "store_id", default=None, help="Store id (must match [store] id in FILE).")
@click.option(
    "--group",
    "group_id",
    default=None,
    help=(
        "A group of the store directory instead: FILE has no [store] table and applies to every store of "
        "the group and its sub-groups that has no file of its own (nor a nearer group's)."
    ),
)
@click.argument("file")
@db_option
def set_config_cmd(store_id: str | None, group_id: str | None, file: str, db_url: str) -> None:
    """Set a store's kiosk.toml (FILE, or - for standard input); its kiosks pull it (checked there too)
    and apply it when idle. Each call is a new version in the history (who, when; the configuration page
    shows the diffs). `kiosk-central config-template` prints a starting point."""
    from sync.central.configs import push

    if bool(store_id) == bool(group_id):
        fail("give --store STORE or --group GROUP")
    if file == "-":
        file = "<stdin>"
        try:
            text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as error:
            fail(f"<stdin>: not UTF-8 text: {error}")
    else:
        text = read_config_file(Path(file))
    if store_id:
        try:
            etag = set_config(open_db(db_url), store_id, text, actor=cli_actor())
        except CentralError as error:
            fail(f"{file}: {error}")
        click.echo(f"store {store_id}: configuration set (ETag {etag})")
        return
    assert group_id is not None
    try:
        pushed = push(open_db(db_url), "group", group_id, text, cli_actor())
    except CentralError as error:
        fail(f"{file}: {error}")
    click.echo(
        f"group {group_id}: configuration set (version {pushed.version.seq}, "
        f"{len(pushed.stores)} stores: {', '.join(pushed.stores) or 'none'})"
    )
    if pushed.kept_own:
        click.echo(f"kept their own configuration: {', '.join(pushed.kept_own)}", err=True)


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: not a day (YYYY-MM-DD): {value!r}")


@main.command("export")
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--from", "start", metavar="DAY", help="First store-local day (YYYY-MM-DD), included.")
@click.option("--to", "end", metavar="DAY", help="Last store-local day (YYYY-MM-DD), included.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="csv or jsonl (default: from the file name's extension, else csv).",
)
@click.option("-o", "--output", required=True, metavar="FILE", help="File to write (- for standard output).")
@db_option
def export_cmd(
    store_id: str, start: str | None, end: str | None, fmt: Format | None, output: str, db_url: str
) -> None:
    """Export every answer of a store, in arrival order, page by page (memory stays flat)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if first and last and first > last:
        fail(f"--from {first} is after --to {last}")
    chosen: Format = fmt or ("jsonl" if output.endswith((".jsonl", ".ndjson")) else "csv")
    db = open_db(db_url)
    total = count(db, store_id, first, last)
    if output == "-":
        written = export_to(db, store_id, sys.stdout, chosen, first, last)
        click.echo(f"store {store_id}: {written} answers exported", err=True)
        return
    target = Path(output)
    # Written aside, then renamed: an interrupted export never leaves a file that looks complete.
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            partial.open("w", encoding="utf-8", newline="") as handle,
            click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar,
        ):
            written = export_to(db, store_id, handle, chosen, first, last, progress=bar.update)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        fail(f"{target}: cannot write: {error.strerror}", 1)
    click.echo(f"store {store_id}: {written} answers exported to {target} ({chosen})", err=True)


@main.command("config-template")
@click.option("--store", "store_id", required=True, help="Store id (as kiosks and devices know it).")
@click.option("--name", default=None, help="Store name shown to people (default: the id).")
@click.option("--timezone", default="Europe/Paris", show_default=True, help="IANA time zone of the store.")
def config_template(store_id: str, name: str | None, timezone: str) -> None:
    """Print a commented kiosk.toml for a store: edit it, then `set-config --store S -` reads it back."""
    from kiosk.config import ConfigError, check_config_text, default_config_text

    try:
        check_id(store_id, "store")
    except CentralError as error:
        fail(str(error))
    text = default_config_text(store_id, "any", timezone, name or store_id).replace(
        "# This kiosk, unique within the store.\n",
        "# A placeholder: each kiosk writes its own device id here when it pulls this file.\n",
    )
    header = (
        f"# Starting configuration of store {store_id}, from `kiosk-central config-template`. Edit it, then\n"
        f"#   kiosk-central set-config --store {store_id} - < {store_id}.toml\n"
        "# Head office serves it to every kiosk of the store; each checks it and applies it when idle.\n"
    )
    text = header + text.split("\n", 1)[1]
    try:
        check_config_text(text, "the template")
    except ConfigError as error:
        fail(error.problems[0])
    click.echo(text, nl=False)


@main.command("enrol")
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--device", "device_id", required=True, help="Device id, unique within the store.")
@click.option("--revoke", is_flag=True, help="Revoke the device's waiting code instead.")
@db_option
def enrol_cmd(store_id: str, device_id: str, revoke: bool, db_url: str) -> None:
    """Print a one-time enrolment code for a device (15 minutes, 5 tries); on the kiosk run
    `kiosk pair URL --code` and type it."""
    from sync.central.enrolment import create_code, revoke_code
    from sync.central.service import now_utc

    db = open_db(db_url)
    if revoke:
        if not revoke_code(db, "cli", store_id, device_id):
            fail(f"no waiting code for {store_id}/{device_id}")
        click.echo(f"code for {store_id}/{device_id} revoked")
        return
    try:
        code = create_code(db, "cli", store_id, device_id, now_utc())
    except CentralError as error:
        fail(str(error))
    click.echo(code.code)
    click.echo(f"valid until {code.expires_at}: on the kiosk run `kiosk pair URL --code`", err=True)


@main.command("set-alerts")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--replace-all",
    is_flag=True,
    help="Replace every rule, those made or edited on the dashboard too (export them first).",
)
@db_option
def set_alerts_cmd(file: Path, replace_all: bool, db_url: str) -> None:
    """Set the alert rules from a TOML file of [[rule]] tables (it replaces the rules of the last file).

    Each rule: name, kind (negative_share, positive_share, index_below, volume, device), the kind's
    parameters, stores (ids, group names or "*") and notify (mailto:ADDRESS, https:// webhook, Apprise URL).
    Rules made or edited on the dashboard are kept (a file rule of the same name is refused) unless
    --replace-all. Digests and webhooks are replaced by the file's. See docs/alerts.md.
    """
    from kiosk.config import ConfigError
    from sync.central.alert_rules import set_alerts
    from sync.central.service import now_utc

    db = open_db(db_url)
    try:
        count, removed = set_alerts(db, file, now_utc(), replace_all=replace_all)
    except ConfigError as error:
        for line in error.problems:
            click.echo(line, err=True)
        sys.exit(2)
    click.echo(f"{count} alert rules set" + (f", {removed} removed" if removed else ""))


# -- personal data of follow-ups (docs/personal-data.md) ---------------------------------------------------


def _settings(db_url: str, **overrides: Any) -> Settings:
    try:
        settings = settings_from_env(db_url, **overrides)
        if settings.contact_keys:
            ContactKeys(settings.contact_keys)
    except ValueError as error:  # ContactKeyError included
        fail(str(error))
    return settings


def _contact_keys() -> ContactKeys:
    try:
        return ContactKeys(_settings("").contact_keys)
    except ContactKeyError as error:
        fail(str(error))


@main.command()
@db_option
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def deliver(db_url: str, once: bool) -> None:
    """Deliver pending notifications (and evaluate queued uploads and absence rules) without serving the API.

    Every `serve` process does this too; on PostgreSQL any number of them share the work, each message
    delivered once. SMTP and webhook settings come from KIOSK_CENTRAL_SMTP_URL, KIOSK_CENTRAL_MAIL_FROM,
    KIOSK_CENTRAL_WEBHOOK_SECRET and KIOSK_CENTRAL_DASHBOARD_URL.
    """
    import os
    import signal
    import threading

    from sync.central import alerts as alerts_
    from sync.central.notify import Background, ChannelNotifier, deliver_due, utc_now

    db = open_db(db_url)
    settings = _settings(db_url)
    notifier = ChannelNotifier(settings)
    if once:
        late = dt.timedelta(hours=settings.late_after_hours)
        opened = alerts_.evaluate_queued(db, utc_now(), late)
        click.echo(f"{opened} alerts opened from queued uploads")
        click.echo(f"{deliver_due(db, notifier, utc_now)} delivery attempts")
        return
    background = Background(db, notifier, settings).start()
    click.echo(f"kiosk-central: delivering (process {os.getpid()}); stop with SIGTERM or Ctrl-C", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    background.stop()


@main.group()
def alerts() -> None:
    """Alert rules: export them as a file, try them on the stored history."""


@alerts.command()
@db_option
def export(db_url: str) -> None:
    """Print every alert rule (from files and from the dashboard), digest and webhook as an alerts file.

    `kiosk-central set-alerts --replace-all` of that file puts everything back as it is.
    """
    from sync.central.rule_edits import export_text
    from sync.central.service import now_utc

    db = open_db(db_url)
    with db.reading() as conn:
        click.echo(export_text(conn, now_utc()), nl=False)


@alerts.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--from", "start", required=True, help="First store-local day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="Last store-local day (YYYY-MM-DD).")
@db_option
def replay(file: Path, store_id: str, start: str, end: str, db_url: str) -> None:
    """Print when each rule of FILE would have fired on the store's stored answers (nothing is sent)."""
    import datetime as dt

    from kiosk.config import ConfigError
    from sync.central import directory_view
    from sync.central.alert_rules import known_store_names, load_alerts_file
    from sync.central.replay import describe
    from sync.central.replay import replay as run_replay

    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as error:
        fail(f"--from/--to: {error}")
    if first > last:
        fail(f"--from {first} is after --to {last}")
    db = open_db(db_url)
    with db.reading() as conn:
        known = known_store_names(conn)
        tz = directory_view.store_timezone(conn, store_id)
    if store_id not in known:
        fail(f"no store {store_id!r} on central")
    try:
        rules = load_alerts_file(file, known)
    except ConfigError as error:
        for line in error.problems:
            click.echo(line, err=True)
        sys.exit(2)
    results = run_replay(db, rules, store_id, first, last)
    if not results:
        click.echo(f"no rule of {file} watches store {store_id}")
    for result in results:
        for line in describe(result, tz):
            click.echo(line)


@main.command()
@db_option
@click.option(
    "--days",
    type=click.IntRange(1, 36_500),
    default=None,
    help="Keep contact details this many days [default: $KIOSK_CENTRAL_CONTACT_RETENTION_DAYS, else 65].",
)
def retention(db_url: str, days: int | None) -> None:
    """Delete follow-up contact details older than the retention time (the comments stay).

    Every server process also does it hourly; this command is for cron or a one-off run.
    """
    from sync.central.followups import purge_contacts
    from sync.central.service import now_utc

    keep = days or _settings(db_url).contact_retention_days
    deleted = purge_contacts(open_db(db_url), now_utc(), keep, actor="kiosk-central retention")
    click.echo(f"{deleted} contact details older than {keep} days deleted")


@main.command()
@click.option("--contact", "address", required=True, help="The person's e-mail address or phone number.")
@click.option("--by", "actor", default="kiosk-central erase", show_default=True, help="Who asks (audit).")
@db_option
def erase(address: str, actor: str, db_url: str) -> None:
    """Delete every follow-up left with this e-mail address or phone number: contact, comment, notes.

    Found through a keyed hash of the normalised address, so the contact key must be configured. An audit
    entry records the follow-up ids and the count, never the address. Backups and messages already sent are
    out of reach (docs/personal-data.md).
    """
    from sync.central.followups import erase_contact
    from sync.central.personal import ContactError
    from sync.central.service import now_utc

    keys = _contact_keys()
    try:
        ids = erase_contact(open_db(db_url), keys, address, actor[:64], now_utc())
    except ContactError as error:
        fail(f"--contact: {error}: give an e-mail address or a phone number")
    click.echo(
        f"{len(ids)} follow-ups erased (audit entry written); backups and messages already sent are not reached"
    )


@main.command("rotate-contact-key")
@click.option(
    "--new-key", is_flag=True, help="Only print a new key to put first in KIOSK_CENTRAL_CONTACT_KEY."
)
@db_option
def rotate_contact_key_cmd(new_key: bool, db_url: str) -> None:
    """Re-encrypt every contact under the first key of KIOSK_CENTRAL_CONTACT_KEY.

    Rotation: `--new-key` prints a key; put it first in KIOSK_CENTRAL_CONTACT_KEY (old keys after it) on
    every server process and restart them; run this command; then drop the old keys.
    """
    from sync.central.followups import rotate_contact_key
    from sync.central.personal import new_key as make_key
    from sync.central.service import now_utc

    if new_key:
        click.echo(make_key())
        return
    keys = _contact_keys()
    rotated, unreadable = rotate_contact_key(
        open_db(db_url), keys, "kiosk-central rotate-contact-key", now_utc()
    )
    click.echo(f"{rotated} contacts re-encrypted under the newest key")
    if unreadable:
        fail(f"{unreadable} contacts could not be decrypted with any configured key (left as they were)", 1)
