"""The store directory: the one source of truth for a store's name, group, time zone, opening hours (with
closed days) and targets, and for the groups (regions, nestable) with their own targets.

`set_stores` loads a TOML file in bulk (`kiosk-central set-stores FILE`); every entry is checked before
anything is written, and the whole file is one transaction:

    [groups.north]
    name = "North"
    parent = "france"                      # optional: groups nest
    targets = { nps = 30, csat = 80 }

    [stores.paris-01]
    name = "Paris Rivoli"
    group = "north"
    timezone = "Europe/Paris"
    opening_hours = { mon = "09:00-19:00", sat = "09:00-12:30,14:00-19:00", sun = "closed" }
    closed_days = ["2026-12-25"]
    targets = { nps = 40, csat = 85, happy_index = 80 }
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, func, select

from kiosk.config import locate
from kiosk.domain.days import format_utc
from sync.central.accounts import audit
from sync.central.db import CentralDB, audit_log, store_directory, store_groups
from sync.central.service import CentralError, check_id, ensure_store

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TARGETS = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "happy_index": (0.0, 100.0)}
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    parent_id: str | None
    targets: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreEntry:
    id: str
    name: str
    group_id: str | None
    timezone: str
    # weekday (0 = Monday) -> [(start minute, end minute)]
    opening_hours: dict[int, list[tuple[int, int]]]
    closed_days: tuple[str, ...]
    targets: dict[str, float | None] = field(default_factory=dict)

    def open_at(self, local: dt.datetime) -> bool:
        if local.date().isoformat() in self.closed_days:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.opening_hours.get(local.weekday(), []))

    def open_hours(self) -> list[int]:
        """The local hours (0-23) the store is open on at least one weekday (the heat map's rows)."""
        hours = {
            h
            for spans in self.opening_hours.values()
            for start, end in spans
            for h in range(start // 60, (end + 59) // 60)
        }
        return sorted(hours) or list(range(24))


@dataclass(frozen=True, slots=True)
class Directory:
    groups: dict[str, Group]
    stores: dict[str, StoreEntry]

    def descendants(self, group_id: str) -> set[str]:
        """The group and every group below it."""
        found = {group_id}
        changed = True
        while changed:
            changed = False
            for group in self.groups.values():
                if group.parent_id in found and group.id not in found:
                    found.add(group.id)
                    changed = True
        return found

    def stores_in(self, group_id: str) -> set[str]:
        groups = self.descendants(group_id)
        return {s.id for s in self.stores.values() if s.group_id in groups}

    def target(self, store_id: str, index: str) -> float | None:
        """The store's own target, else its nearest group's that sets one."""
        entry = self.stores.get(store_id)
        if entry is None:
            return None
        if entry.targets.get(index) is not None:
            return entry.targets[index]
        group_id, seen = entry.group_id, set()
        while group_id and group_id in self.groups and group_id not in seen:
            seen.add(group_id)
            value = self.groups[group_id].targets.get(index)
            if value is not None:
                return value
            group_id = self.groups[group_id].parent_id
        return None


def _targets_columns(targets: dict[str, float | None]) -> dict[str, float | None]:
    return {f"target_{k}": targets.get(k) for k in TARGETS}


def _row_targets(row: Any) -> dict[str, float | None]:
    return {k: getattr(row, f"target_{k}") for k in TARGETS}


@lru_cache(maxsize=1024)
def _decode_hours(text: str) -> dict[int, list[tuple[int, int]]]:
    """Remembered: a chain's stores mostly share a few opening-hours texts, and every page reads the
    directory (1,000 stores: a few milliseconds of parsing each time). Callers never change the result."""
    data = json.loads(text)
    return {WEEKDAYS.index(day): [(int(a), int(b)) for a, b in spans] for day, spans in data.items()}


def load(conn: Connection) -> Directory:
    groups = {
        r.id: Group(r.id, r.name, r.parent_id, _row_targets(r)) for r in conn.execute(select(store_groups))
    }
    entries = {
        r.store_id: StoreEntry(
            r.store_id,
            r.name,
            r.group_id,
            r.timezone,
            _decode_hours(r.opening_hours),
            tuple(json.loads(r.closed_days)),
            _row_targets(r),
        )
        for r in conn.execute(select(store_directory))
    }
    return Directory(groups, entries)


# The directory last read from each database, with the audit log's last number when it was read.
_kept: weakref.WeakKeyDictionary[CentralDB, tuple[int | None, Directory]] = weakref.WeakKeyDictionary()


def load_directory(db: CentralDB) -> Directory:
    """The directory as committed, read again only after a change. Every change of it is audited in its own
    transaction (`set_stores`), so the audit log's last number says whether the copy kept in memory is
    still right: one read of a primary key on every page, rather than 1,000 rows at a large chain (15 to
    30 ms). Each server process keeps its own copy and sees another's change on its next request."""
    with db.reading() as conn:
        mark = conn.execute(select(func.max(audit_log.c.seq))).scalar()
        kept = _kept.get(db)
        if kept is not None and kept[0] == mark:
            return kept[1]
        directory = load(conn)
    _kept[db] = (mark, directory)
    return directory


# -- the file ---------------------------------------------------------------------------------------------


def _targets(where: str, raw: Any) -> dict[str, float | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CentralError(400, f"{where}.targets: a table like {{ nps = 30, csat = 80 }}")
    result: dict[str, float | None] = {}
    for key, value in raw.items():
        if key not in TARGETS:
            raise CentralError(400, f"{where}.targets.{key}: unknown (nps, csat, happy_index)")
        low, high = TARGETS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise CentralError(400, f"{where}.targets.{key}: a number from {low:g} to {high:g}")
        result[key] = float(value)
    return result


def _minutes(hh: str, mm: str) -> int:
    return int(hh) * 60 + int(mm)


def parse_hours(where: str, raw: Any) -> dict[str, list[tuple[int, int]]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CentralError(400, f'{where}.opening_hours: a table like {{ mon = "09:00-19:00" }}')
    hours: dict[str, list[tuple[int, int]]] = {}
    for day, text in raw.items():
        if day not in WEEKDAYS:
            raise CentralError(400, f"{where}.opening_hours.{day}: not a weekday ({', '.join(WEEKDAYS)})")
        if not isinstance(text, str):
            raise CentralError(400, f'{where}.opening_hours.{day}: text like "09:00-19:00" or "closed"')
        spans: list[tuple[int, int]] = []
        if text.strip().lower() != "closed":
            for part in text.split(","):
                match = _SPAN.match(part.strip())
                if not match:
                    raise CentralError(
                        400, f"{where}.opening_hours.{day}: {part.strip()!r} is not HH:MM-HH:MM"
                    )
                start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
                if end <= start or end > 24 * 60:
                    raise CentralError(
                        400, f"{where}.opening_hours.{day}: {part.strip()} ends before it starts"
                    )
                spans.append((start, end))
        hours[day] = sorted(spans)
    return hours


def _text(where: str, raw: Any, limit: int = 200) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > limit:
        raise CentralError(400, f"{where}: a text of 1 to {limit} characters")
    return raw.strip()


class DirectoryFileError(CentralError):
    """A directory file refused; `line` is the line of the key it names (None when no key is named)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(400, f"line {line}: {message}" if line else message)
        self.line = line
        self.problem = message


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def parse_file(source: str, existing: Directory) -> tuple[list[Group], list[dict[str, Any]]]:
    """The groups and stores of a directory file; DirectoryFileError names the line of the first problem."""
    try:
        return _parse_file(source, existing)
    except DirectoryFileError:
        raise
    except CentralError as error:
        message = str(error)
        where = message.split(":", 1)[0]
        line = locate(source, tuple(where.split("."))) if " " not in where else None
        raise DirectoryFileError(message, line) from None


def _parse_file(source: str, existing: Directory) -> tuple[list[Group], list[dict[str, Any]]]:
    try:
        data = tomllib.loads(source)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as error:
        first = str(error).splitlines()[0]
        position = _TOML_LINE.search(first)
        line = int(position.group(1)) if position else None
        raise DirectoryFileError(f"invalid TOML: {first}", line) from None
    unknown = set(data) - {"groups", "stores"}
    if unknown:
        raise CentralError(400, f"{sorted(unknown)[0]}: unknown table (only [groups.ID] and [stores.ID])")
    groups: list[Group] = []
    raw_groups = data.get("groups", {})
    for group_id, raw in raw_groups.items():
        where = f"groups.{group_id}"
        check_id(group_id, "group")
        if not isinstance(raw, dict):
            raise CentralError(400, f"{where}: a table")
        extra = set(raw) - {"name", "parent", "targets"}
        if extra:
            raise CentralError(400, f"{where}.{sorted(extra)[0]}: unknown key (name, parent, targets)")
        parent = raw.get("parent")
        if parent is not None and parent not in raw_groups and parent not in existing.groups:
            raise CentralError(400, f"{where}.parent: no group {parent!r}")
        groups.append(
            Group(
                group_id, _text(f"{where}.name", raw.get("name")), parent, _targets(where, raw.get("targets"))
            )
        )
    parents = {g.id: g.parent_id for g in existing.groups.values()} | {g.id: g.parent_id for g in groups}
    for group in groups:
        seen: set[str] = set()
        at: str | None = group.id
        while at is not None:
            if at in seen:
                raise CentralError(400, f"groups.{group.id}.parent: groups nest in a loop")
            seen.add(at)
            at = parents.get(at)
    known_groups = set(parents)
    entries: list[dict[str, Any]] = []
    for store_id, raw in data.get("stores", {}).items():
        where = f"stores.{store_id}"
        check_id(store_id, "store")
        if not isinstance(raw, dict):
            raise CentralError(400, f"{where}: a table")
        extra = set(raw) - {"name", "group", "timezone", "opening_hours", "closed_days", "targets"}
        if extra:
            raise CentralError(400, f"{where}.{sorted(extra)[0]}: unknown key")
        group_id = raw.get("group")
        if group_id is not None and group_id not in known_groups:
            raise CentralError(400, f"{where}.group: no group {group_id!r}")
        zone = _text(f"{where}.timezone", raw.get("timezone"), 64)
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CentralError(400, f"{where}.timezone: unknown time zone {zone!r}") from None
        closed = raw.get("closed_days", [])
        if not isinstance(closed, list) or not all(isinstance(d, str | dt.date) for d in closed):
            raise CentralError(400, f"{where}.closed_days: a list of days (YYYY-MM-DD)")
        days = []
        for day in closed:
            try:
                days.append(dt.date.fromisoformat(str(day)).isoformat())
            except ValueError:
                raise CentralError(400, f"{where}.closed_days: {day!r} is not YYYY-MM-DD") from None
        entries.append(
            {
                "store_id": store_id,
                "name": _text(f"{where}.name", raw.get("name")),
                "group_id": group_id,
                "timezone": zone,
                "opening_hours": json.dumps(parse_hours(where, raw.get("opening_hours"))),
                "closed_days": json.dumps(sorted(set(days))),
                **_targets_columns(_targets(where, raw.get("targets"))),
            }
        )
    return groups, entries


def set_stores(db: CentralDB, actor: str, source: str) -> tuple[int, int]:
    """Load a directory file (groups and stores upserted, others kept); returns (groups, stores)."""
    with db.writing() as conn:
        groups, entries = parse_file(source, load(conn))
        now = format_utc(dt.datetime.now(dt.UTC))
        for group in groups:
            values = {"name": group.name, "parent_id": group.parent_id, **_targets_columns(group.targets)}
            stmt = db.insert(store_groups).values(id=group.id, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        for entry in entries:
            ensure_store(db, conn, entry["store_id"])
            values = {k: v for k, v in entry.items() if k != "store_id"} | {"updated_at": now}
            stmt = db.insert(store_directory).values(store_id=entry["store_id"], **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["store_id"], set_=values))
        audit(conn, actor, "directory.set", f"{len(groups)} groups, {len(entries)} stores")
        from sync.central.configs import follow_directory  # it builds on this module

        # A store new in a group, or moved, takes its group's configuration now (sync/central/configs.py).
        follow_directory(db, conn, actor)
    return len(groups), len(entries)


# -- the configuration served to kiosks -------------------------------------------------------------------


def stamp_candidates(entry: StoreEntry, text: str, directory: Directory | None = None) -> list[str]:
    """The file with the directory's facts written in: with `[targets]` first (when any is set), then
    without it. Empty when the text is not TOML."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        document = tomlkit.parse(text)
        store = document.get("store")
        if store is None:
            store = tomlkit.table()
            document["store"] = store
        store["name"] = entry.name
        store["timezone"] = entry.timezone
        plain = tomlkit.dumps(document)
        targets = {k: directory.target(entry.id, k) if directory else entry.targets.get(k) for k in TARGETS}
        found = {k: v for k, v in targets.items() if v is not None}
        if not found:
            return [plain]
        table = tomlkit.table()
        for key, value in found.items():
            table[key] = value
        document["targets"] = table
        return [tomlkit.dumps(document), plain]
    except (TOMLKitError, ValueError, TypeError):
        return []


def stamp_config(entry: StoreEntry | None, text: str, directory: Directory | None = None) -> str:
    """The store's kiosk.toml with the directory's facts written in: `[store]` name and time zone, and a
    `[targets]` table (nps, csat, happy_index) when the store or its groups set any. The directory is the
    one source of truth for these keys; a kiosk's local edits of them last until its next pull.

    The result is checked like a kiosk checks it: a kiosk release that does not know `[targets]` yet gets
    the file without it (never a file it would refuse); anything else unexpected serves the file as set."""
    if entry is None:
        return text
    from kiosk.config import ConfigError, check_config_text

    for candidate in stamp_candidates(entry, text, directory):
        try:
            check_config_text(candidate, "central")
        except ConfigError:
            continue
        return candidate
    return text


# -- one entry edited in a form ---------------------------------------------------------------------------


def entry_file(kind: str, entry_id: str, values: dict[str, Any]) -> str:
    """A directory file holding one `[stores.ID]` or `[groups.ID]` table written from a form's values, so a
    form goes through exactly the checks of `set-stores FILE` (tomlkit quotes whatever was typed)."""
    import tomlkit

    document = tomlkit.document()
    outer = tomlkit.table(is_super_table=True)
    table = tomlkit.table()
    for key, value in values.items():
        if value is None or value == "" or value == {} or value == []:
            continue
        table[key] = value
    outer[entry_id] = table
    document[kind] = outer
    return tomlkit.dumps(document)


def hours_text(spans: list[tuple[int, int]]) -> str:
    """`09:00-12:30, 14:00-19:00` (empty when closed): how a form shows a weekday's opening hours."""
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)
