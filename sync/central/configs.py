"""Survey configurations per store or group: set (checked like a kiosk checks its file), history with diffs,
and rollout (which devices applied the version their store serves, which refused it and why).

Every `set-config` (the CLI and the configuration page) adds a row to `config_versions`, never changes one.
Precedence, decided here only: a store's own file wins; a store without one takes the file of its nearest
group that has one (its group, else the parent group, and so on up); a store with neither has none. A group
file has no `[store]` table: central appends each store's own (`id`, and the directory's name and time zone)
when it writes the file a store serves. The file a store serves is kept in `stores.config_toml` with the
version it came from (`stores.config_version`), so ingest, scores and the kiosk's pull read one place; it is
written again for every store a new version reaches, in the transaction that records the version.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy import text as sql

from kiosk.config import ConfigError, check_config_text, locate
from kiosk.domain.days import format_utc
from kiosk.domain.survey import KioskConfig
from sync.central.accounts import audit
from sync.central.db import CentralDB, config_versions, devices, stores
from sync.central.directory import Directory, load
from sync.central.service import CentralError, check_id, ensure_store, remember_survey

SCOPES = ("store", "group")
ORIGIN = "kiosk.toml"
# The name, time zone and id central writes into a group's file for each store (the directory's).
DEFAULT_TIMEZONE = "Europe/Paris"
# Any number, the same in every process: serialises configuration pushes on PostgreSQL.
_PUSH_LOCK = 72_207_009


class ConfigRefused(CentralError):
    """The file fails the kiosk's checks: every problem, one line each (`kiosk.toml:LINE: key: problem`).
    Nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(400, problems[0][:300] if problems else "refused")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Version:
    seq: int
    scope: str
    target: str
    text: str
    digest: str
    actor: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Pushed:
    version: Version
    etag: str  # of the target's served file (a store), else of the group's text
    stores: tuple[str, ...]  # the stores now serving this version
    kept_own: tuple[str, ...] = ()  # stores of a group that keep a file of their own (or a nearer group's)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    version: Version
    diff: list[str] = field(default_factory=list)  # unified diff from the previous version of the target
    added: int = 0
    removed: int = 0


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def etag_of(text: str) -> str:
    return '"' + digest_of(text)[:32] + '"'


# -- checks --------------------------------------------------------------------------------------------------


def _problems(text: str) -> list[str]:
    try:
        check_config_text(text, ORIGIN)
    except ConfigError as error:
        return list(error.problems)
    return []


def check_store_text(text: str, store_id: str) -> KioskConfig:
    """The store's file checked exactly like `set-config` (and a kiosk) checks it; ConfigRefused else."""
    try:
        config = check_config_text(text, ORIGIN)
    except ConfigError as error:
        raise ConfigRefused(list(error.problems)) from None
    if config.store.id != store_id:
        line = locate(text, ("store", "id"))
        where = f"{ORIGIN}:{line}" if line else ORIGIN
        raise ConfigRefused(
            [f"{where}: store.id: the file is for store {config.store.id!r}, not {store_id!r}"]
        )
    return config


def with_store(text: str, store_id: str, name: str, timezone: str) -> str:
    """A group's file with a store's `[store]` table appended: the lines of the file keep their numbers."""
    table = "\n[store]\n" + "".join(
        f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
        for key, value in (("id", store_id), ("name", name), ("timezone", timezone))
    )
    return text.rstrip("\n") + "\n" + table


def _store_facts(directory: Directory, store_id: str) -> tuple[str, str]:
    entry = directory.stores.get(store_id)
    return (entry.name, entry.timezone) if entry else (store_id, DEFAULT_TIMEZONE)


def check_group_text(text: str, group_id: str, directory: Directory) -> None:
    """A group's file: no `[store]` table (central writes each store's), and the rest checked like a store's
    file, for every store of the group (their time zones differ). ConfigRefused with every problem."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        data = None  # the check below says where the file is not TOML
    if data is not None and "store" in data:
        line = locate(text, ("store",))
        where = f"{ORIGIN}:{line}" if line else ORIGIN
        raise ConfigRefused(
            [f"{where}: store: a group's file has no [store] table: central writes each store's own"]
        )
    members = sorted(directory.stores_in(group_id)) or [group_id]
    problems: list[str] = []
    for store_id in members:
        for problem in _problems(with_store(text, store_id, *_store_facts(directory, store_id))):
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise ConfigRefused(problems)


# -- reading -------------------------------------------------------------------------------------------------


def _version(row: Any) -> Version:
    return Version(
        int(row.seq), row.scope, row.target, row.config_toml, row.digest, row.actor, str(row.created_at)
    )


def latest(conn: Connection, scope: str, target: str) -> Version | None:
    row = conn.execute(
        select(config_versions)
        .where(config_versions.c.scope == scope, config_versions.c.target == target)
        .order_by(config_versions.c.seq.desc())
        .limit(1)
    ).first()
    return _version(row) if row else None


def group_chain(directory: Directory, store_id: str) -> list[str]:
    """The store's group, then its parent, and so on up (a loop in the directory stops the walk)."""
    entry = directory.stores.get(store_id)
    chain: list[str] = []
    group_id = entry.group_id if entry else None
    while group_id and group_id not in chain:
        chain.append(group_id)
        group = directory.groups.get(group_id)
        group_id = group.parent_id if group else None
    return chain


def source_of(conn: Connection, directory: Directory, store_id: str) -> Version | None:
    """The version a store serves by the precedence rule: its own, else its nearest configured group's."""
    own = latest(conn, "store", store_id)
    if own is not None:
        return own
    for group_id in group_chain(directory, store_id):
        found = latest(conn, "group", group_id)
        if found is not None:
            return found
    return None


def served_text(version: Version, directory: Directory, store_id: str) -> str:
    if version.scope == "store":
        return version.text
    return with_store(version.text, store_id, *_store_facts(directory, store_id))


def served_version(db: CentralDB, store_id: str) -> int | None:
    """The version of the file the store serves (sent to kiosks as `X-Config-Version`)."""
    with db.reading() as conn:
        value = conn.execute(select(stores.c.config_version).where(stores.c.id == store_id)).scalar()
    return int(value) if value is not None else None


def history(db: CentralDB, scope: str, target: str, limit: int = 50) -> list[HistoryEntry]:
    """The target's versions, newest first, each with its diff from the one before it."""
    with db.reading() as conn:
        rows = conn.execute(
            select(config_versions)
            .where(config_versions.c.scope == scope, config_versions.c.target == target)
            .order_by(config_versions.c.seq.desc())
            .limit(limit + 1)
        ).all()
    versions = [_version(r) for r in rows]
    entries = []
    for i, version in enumerate(versions[:limit]):
        before = versions[i + 1] if i + 1 < len(versions) else None
        lines = diff(before, version) if before else []
        added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
        removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
        entries.append(HistoryEntry(version, lines, added, removed))
    return entries


def diff(old: Version, new: Version) -> list[str]:
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old.text.splitlines(keepends=True),
            new.text.splitlines(keepends=True),
            fromfile=f"#{old.seq} ({old.actor}, {old.created_at})",
            tofile=f"#{new.seq} ({new.actor}, {new.created_at})",
        )
    ]


# -- setting -------------------------------------------------------------------------------------------------


def _write_served(
    db: CentralDB, conn: Connection, directory: Directory, version: Version, store_id: str, now: str
) -> str:
    text = served_text(version, directory, store_id)
    config = check_config_text(text, ORIGIN)  # checked before anything was written
    etag = etag_of(text)
    ensure_store(db, conn, store_id)
    conn.execute(
        update(stores)
        .where(stores.c.id == store_id)
        .values(config_toml=text, config_etag=etag, config_version=version.seq, updated_at=now)
    )
    remember_survey(db, conn, store_id, config.survey, "config", authority=True)
    return etag


def push(
    db: CentralDB, scope: str, target: str, text: str, actor: str, now: dt.datetime | None = None
) -> Pushed:
    """Check and record a new configuration of a store or a group, write the file of every store it now
    reaches (by the precedence rule), and audit it, all in one transaction. ConfigRefused (nothing stored)
    when the file fails the checks; 404 for a group the directory does not know."""
    if scope not in SCOPES:
        raise CentralError(400, f"scope must be store or group, not {scope!r}")
    check_id(target, scope)
    stamp = format_utc(now or dt.datetime.now(dt.UTC))
    with db.writing() as conn:
        if not db.is_sqlite:
            # Two pushes at once (several server processes): one after the other, so the stores end up
            # with the newest version (SQLite has one writer anyway).
            conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUSH_LOCK})
        directory = load(conn)
        if scope == "store":
            check_store_text(text, target)
        else:
            if target not in directory.groups:
                raise CentralError(
                    404, f"no group {target!r} in the store directory (kiosk-central set-stores)"
                )
            check_group_text(text, target, directory)
        seq = conn.execute(
            config_versions.insert()
            .values(
                scope=scope,
                target=target,
                config_toml=text,
                digest=digest_of(text),
                actor=actor[:64],
                created_at=stamp,
            )
            .returning(config_versions.c.seq)
        ).scalar_one()
        version = Version(int(seq), scope, target, text, digest_of(text), actor[:64], stamp)
        if scope == "store":
            reached, kept = [target], []
        else:
            members = sorted(directory.stores_in(target))
            sources = {s: source_of(conn, directory, s) for s in members}
            reached = [s for s in members if (found := sources[s]) is not None and found.seq == version.seq]
            kept = [s for s in members if s not in reached]
        etags = [_write_served(db, conn, directory, version, s, stamp) for s in reached]
        detail = f"version {version.seq}, sha256 {version.digest[:12]}, {len(reached)} store(s)"
        if kept:
            detail += f"; kept their own: {', '.join(kept)}"
        audit(conn, actor, "config.set", f"{scope} {target}", detail)
    etag = etags[0] if scope == "store" else etag_of(text)
    return Pushed(version, etag, tuple(reached), tuple(kept))


def follow_directory(db: CentralDB, conn: Connection, actor: str) -> list[str]:
    """After the directory changed (a store added to a group, moved, renamed; a group moved): write again the
    file of every store that takes a group's file and now serves another text (in the caller's transaction).
    A store with a file of its own is left alone (the directory's facts are written in when it is served);
    one that left every configured group keeps the file it had. Returns the stores written."""
    any_group = select(config_versions.c.seq).where(config_versions.c.scope == "group").limit(1)
    if conn.execute(any_group).first() is None:
        return []  # no group file: nothing follows the directory (the common case, one query)
    directory = load(conn)
    stamp = format_utc(dt.datetime.now(dt.UTC))
    changed = []
    for store_id in sorted(directory.stores):
        source = source_of(conn, directory, store_id)
        if source is None or source.scope == "store":
            continue
        row = conn.execute(
            select(stores.c.config_toml, stores.c.config_version).where(stores.c.id == store_id)
        ).first()
        if (
            row
            and row.config_version == source.seq
            and row.config_toml == served_text(source, directory, store_id)
        ):
            continue
        try:
            _write_served(db, conn, directory, source, store_id, stamp)
        except ConfigError:
            continue  # cannot happen for a checked group file and a checked directory entry; never a 500
        changed.append(store_id)
    if changed:
        audit(conn, actor, "config.follow", "directory", f"group files written for {', '.join(changed)}")
    return changed


# -- rollout -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRollout:
    store: str
    device: str
    status: str  # applied, refused, pending, none (the store serves no configuration)
    current: int | None  # the version the store serves
    applied: int | None  # the version the device last reported applied
    applied_at: str | None
    refused: int | None
    refused_reason: str | None
    refused_at: str | None
    last_seen_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "device": self.device,
            "status": self.status,
            "current": self.current,
            "applied": self.applied,
            "applied_at": self.applied_at,
            "refused": self.refused,
            "refused_reason": self.refused_reason,
            "refused_at": self.refused_at,
            "last_seen_at": self.last_seen_at,
        }


def rollout_status(current: int | None, row: Any) -> str:
    """One device against the version its store serves: refused (its heartbeat names that version as
    refused), applied (names it as applied), pending (neither yet), none (nothing served)."""
    if current is None:
        return "none"
    if row.config_refused_version == current:
        return "refused"
    if row.config_version == current:
        return "applied"
    return "pending"


def rollout(db: CentralDB, store_ids: list[str]) -> list[DeviceRollout]:
    """Every active device of these stores with where it stands on its store's current configuration."""
    if not store_ids:
        return []
    with db.reading() as conn:
        current = dict(
            conn.execute(select(stores.c.id, stores.c.config_version).where(stores.c.id.in_(store_ids))).all()
        )
        rows = conn.execute(
            select(devices)
            .where(devices.c.store_id.in_(store_ids), devices.c.revoked.is_(False))
            .order_by(devices.c.store_id, devices.c.device_id)
        ).all()
    result = []
    for row in rows:
        served = current.get(row.store_id)
        served = int(served) if served is not None else None
        result.append(
            DeviceRollout(
                row.store_id,
                row.device_id,
                rollout_status(served, row),
                served,
                row.config_version,
                row.config_applied_at,
                row.config_refused_version,
                row.config_refused_reason,
                row.config_refused_at,
                row.last_seen_at,
            )
        )
    return result
