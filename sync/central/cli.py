"""The `kiosk-central` command line: serve the API, register devices and admins, set a store's config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from kiosk import __version__
from sync.central.db import CentralDB
from sync.central.personal import ContactKeyError, ContactKeys
from sync.central.service import CentralError, add_admin, add_device, revoke_device, set_config
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

    settings = _settings(db_url, max_batch=max_batch)  # a bad setting stops here, before any worker starts
    db = open_db(db_url)  # creates the tables once, before any worker starts
    if workers == 1:
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
