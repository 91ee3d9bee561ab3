"""The `kiosk-central` command line: serve the API, register devices and admins, set a store's config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from kiosk import __version__
from sync.central.db import CentralDB
from sync.central.service import CentralError, add_admin, add_device, revoke_device, set_config
from sync.central.settings import Settings, alert_settings_from_env, default_db_url
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
def serve(db_url: str, host: str, port: int, max_batch: int, workers: int) -> None:
    """Serve the API (put a TLS-terminating proxy in front of it outside a lab)."""
    import os

    import uvicorn

    from sync.central.app import create_app

    db = open_db(db_url)  # creates the tables once, before any worker starts
    if workers == 1:
        settings = Settings(db_url=db_url, max_batch=max_batch, background=True, **alert_settings_from_env())
        uvicorn.run(create_app(settings, db), host=host, port=port)
        return
    db.dispose()
    os.environ["KIOSK_CENTRAL_DB"] = db_url
    os.environ["KIOSK_CENTRAL_MAX_BATCH"] = str(max_batch)
    uvicorn.run("sync.central.app:create_app_from_env", factory=True, host=host, port=port, workers=workers)


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
        token = add_device(open_db(db_url), store_id, device_id)
    except CentralError as error:
        fail(str(error))
    click.echo(token)
    click.echo(f"device {store_id}/{device_id}: on the kiosk run `kiosk pair URL TOKEN`", err=True)


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
@db_option
def add_admin_cmd(name: str, db_url: str) -> None:
    """Create a head-office reader and print its token (shown once)."""
    try:
        click.echo(add_admin(open_db(db_url), name))
    except CentralError as error:
        fail(str(error))


@main.command("set-config")
@click.option("--store", "store_id", required=True, help="Store id (must match [store] id in FILE).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def set_config_cmd(store_id: str, file: Path, db_url: str) -> None:
    """Set a store's kiosk.toml; its kiosks pull it (checked there too) and apply it when idle."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{file}: cannot read: {error}")
    try:
        etag = set_config(open_db(db_url), store_id, text)
    except CentralError as error:
        fail(f"{file}: {error}")
    click.echo(f"store {store_id}: configuration set (ETag {etag})")


@main.command("set-alerts")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def set_alerts_cmd(file: Path, db_url: str) -> None:
    """Set the alert rules from a TOML file of [[rule]] tables (it replaces the rules of the last file).

    Each rule: name, kind (negative_share, positive_share, index_below, volume, device), the kind's
    parameters, stores (ids, group names or "*") and notify (mailto:ADDRESS, https:// webhook, Apprise URL).
    See docs/alerts.md.
    """
    from kiosk.config import ConfigError
    from sync.central.alert_rules import set_alerts
    from sync.central.service import now_utc

    db = open_db(db_url)
    try:
        count, removed = set_alerts(db, file, now_utc())
    except ConfigError as error:
        for line in error.problems:
            click.echo(line, err=True)
        sys.exit(2)
    click.echo(f"{count} alert rules set" + (f", {removed} removed" if removed else ""))


@main.command()
@db_option
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def deliver(db_url: str, once: bool) -> None:
    """Deliver pending notifications (and evaluate absence rules) without serving the API.

    Every `serve` process does this too; on PostgreSQL any number of them share the work, each message
    delivered once. SMTP and webhook settings come from KIOSK_CENTRAL_SMTP_URL, KIOSK_CENTRAL_MAIL_FROM,
    KIOSK_CENTRAL_WEBHOOK_SECRET and KIOSK_CENTRAL_PUBLIC_URL.
    """
    import os
    import signal
    import threading

    from sync.central.notify import Background, ChannelNotifier, deliver_due, utc_now

    db = open_db(db_url)
    settings = Settings(db_url=db_url, **alert_settings_from_env())
    notifier = ChannelNotifier(settings)
    if once:
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
    """Alert rules: try them on the stored history."""


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
