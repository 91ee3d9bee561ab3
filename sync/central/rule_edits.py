"""Alert rules edited one at a time (the dashboard's rules page) and all of them written back as an alerts
file (`kiosk-central alerts export`).

A rule saved here goes through the same checker as a rule of the file (`alert_rules.parse_rule`), its
problems named by field, and is stored like one, marked `source = "ui"`: `set-alerts FILE` leaves such rules
alone and refuses a file rule of the same name, `set-alerts --replace-all FILE` replaces them too. The
export holds every rule (file and dashboard), digest and webhook, in a file `set-alerts` accepts, so
loading the export with `--replace-all` changes nothing. Every change writes an audit line in its own
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from kiosk.config import key_name
from kiosk.domain.days import format_utc
from sync.central import directory_view
from sync.central.alert_rules import (
    KEYS,
    Rule,
    _from_json,
    _jsonable,
    _RuleChecker,
    audit,
    known_store_names,
    load_digests,
    load_webhooks,
    parse_rule,
)
from sync.central.db import CentralDB, alert_rules, alerts


class RuleProblems(Exception):
    """A rule that does not pass the checker: one `field: problem` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class RuleNotFound(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredRule:
    name: str
    kind: str
    source: str  # "file" or "ui"
    updated_at: str
    definition: dict[str, Any]  # the rule's table, as written in a file (days as dt.date)
    rule: Rule | None  # None: no longer passes the checker (a store removed from the directory, ...)


def stored_rules(conn: Connection) -> list[StoredRule]:
    found = []
    for row in conn.execute(select(alert_rules).order_by(alert_rules.c.name)):
        definition = _from_json(json.loads(row.definition))
        rule = parse_rule(_RuleChecker(strict_urls=False), definition, ("rule", row.name), None)
        found.append(StoredRule(row.name, row.kind, row.source, row.updated_at, definition, rule))
    return found


def stored_rule(conn: Connection, name: str) -> StoredRule:
    for found in stored_rules(conn):
        if found.name == name:
            return found
    raise RuleNotFound(name)


def check_rule(definition: Mapping[str, Any], known_stores: set[str] | None) -> Rule:
    """The rule of one `[[rule]]` table, or RuleProblems naming each field at fault."""
    check = _RuleChecker()
    rule = parse_rule(check, dict(definition), ("rule",), known_stores)
    if check.problems or rule is None:
        problems = [f"{key_name(key[1:]) or 'rule'}: {message}" for key, message in check.problems]
        raise RuleProblems(problems or ["rule: not a valid rule"])
    return rule


def store_entries_within(conn: Connection, entries: Iterable[str], visible: frozenset[str] | None) -> bool:
    """Whether every entry of a rule's `stores` (ids, groups, "*") lies within `visible` (None: every store).
    A manager edits only the rules wholly inside their scope."""
    if visible is None:
        return True
    for entry in entries:
        if entry == "*":
            return False
        members = directory_view.group_stores(conn, entry)
        if not set(members if members is not None else [entry]) <= visible:
            return False
    return True


def touches(conn: Connection, entries: Iterable[str], visible: frozenset[str] | None) -> bool:
    """Whether a rule watches at least one store of `visible` (what a viewer or manager may read)."""
    if visible is None:
        return True
    for entry in entries:
        if entry == "*":
            return True
        members = directory_view.group_stores(conn, entry)
        if set(members if members is not None else [entry]) & visible:
            return True
    return False


def _write(conn: Connection, db: CentralDB, rule: Rule, definition: Mapping[str, Any], stamp: str) -> None:
    values = {
        "kind": rule.kind,
        "definition": json.dumps(_jsonable(dict(definition)), ensure_ascii=False, sort_keys=True),
        "source": "ui",
        "updated_at": stamp,
    }
    stmt = db.insert(alert_rules).values(name=rule.name, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))


def _close_alerts_of(conn: Connection, name: str, stamp: str, why: str) -> None:
    conn.execute(
        update(alerts)
        .where(alerts.c.rule == name, alerts.c.closed_at.is_(None))
        .values(status="closed", closed_at=stamp, closed_by=why, open_key=None)
    )


def save_rule(
    db: CentralDB,
    actor: str,
    definition: Mapping[str, Any],
    now: dt.datetime,
    replacing: str | None = None,
    visible: frozenset[str] | None = None,
    mail_only: bool = False,
) -> Rule:
    """Create a rule (`replacing` None) or replace the rule named `replacing` (renaming it closes its open
    alerts, as removing it would). `visible` is the editor's scope: the rule must lie within it.
    `mail_only` (a manager): new targets are `mailto:` addresses only; webhooks and Apprise URLs make the
    server call other hosts, possibly with a secret of the server's environment, so only an admin adds
    them (a manager editing a rule keeps the ones it has)."""
    with db.reading() as conn:
        known = known_store_names(conn)
    rule = check_rule(definition, known)
    stamp = format_utc(now)
    with db.writing() as conn:
        if not store_entries_within(conn, rule.stores, visible):
            raise RuleProblems(['stores: only stores of your own scope (not "*")'])
        names = set(conn.execute(select(alert_rules.c.name)).scalars())
        if replacing is not None and replacing not in names:
            raise RuleNotFound(replacing)
        if rule.name in names and rule.name != replacing:
            raise RuleProblems([f"name: another rule is named {rule.name!r}"])
        kept: tuple[Any, ...] = ()
        if replacing is not None:
            old = stored_rule(conn, replacing)
            if not store_entries_within(conn, old.definition.get("stores") or ["*"], visible):
                raise RuleProblems(["stores: this rule watches stores outside your scope"])
            kept = old.rule.notify if old.rule is not None else ()
        if mail_only:
            refused = [
                f"notify[{i}]: a manager adds mail addresses (mailto:…) only; an admin adds webhooks and "
                "other services"
                for i, target in enumerate(rule.notify)
                if target.channel != "mail" and target not in kept
            ]
            if refused:
                raise RuleProblems(refused)
        if replacing is not None and replacing != rule.name:
            conn.execute(delete(alert_rules).where(alert_rules.c.name == replacing))
            _close_alerts_of(conn, replacing, stamp, "rule renamed")
        _write(conn, db, rule, definition, stamp)
        action = "rule.add" if replacing is None else "rule.edit"
        detail = rule.kind if replacing in (None, rule.name) else f"{rule.kind}, renamed from {replacing}"
        audit(conn, actor, action, rule.name, detail)
    return rule


def _editable(conn: Connection, name: str, visible: frozenset[str] | None) -> StoredRule:
    found = stored_rule(conn, name)
    if not store_entries_within(conn, found.definition.get("stores") or ["*"], visible):
        raise RuleProblems(["stores: this rule watches stores outside your scope"])
    return found


def delete_rule(
    db: CentralDB, actor: str, name: str, now: dt.datetime, visible: frozenset[str] | None = None
) -> None:
    """Remove a rule; its open alerts are closed without a message (as when a file drops it)."""
    stamp = format_utc(now)
    with db.writing() as conn:
        found = _editable(conn, name, visible)
        conn.execute(delete(alert_rules).where(alert_rules.c.name == name))
        _close_alerts_of(conn, name, stamp, "rule removed")
        audit(conn, actor, "rule.delete", name, f"{found.kind}, from {found.source}")


def mute_rule(
    db: CentralDB,
    actor: str,
    name: str,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    visible: frozenset[str] | None = None,
) -> None:
    """Keep a rule quiet on the store-local days start..end: one more entry of its `mute` list."""
    with db.reading() as conn:
        known = known_store_names(conn)
    with db.writing() as conn:
        found = _editable(conn, name, visible)
        definition = dict(found.definition)
        definition["mute"] = [*(definition.get("mute") or []), {"from": start, "to": end}]
        rule = check_rule(definition, known)
        _write(conn, db, rule, definition, format_utc(now))
        audit(conn, actor, "rule.mute", name, f"{start} to {end}")


# -- the form of the rules page ------------------------------------------------------------------------------

TEXTS = ("name", "kind", "question", "index", "period", "check")
LISTS = ("stores", "notify", "mute")
# Every other key a rule kind takes is a number: a parameter added to a kind gets its field on the page
# (under "Other parameters") without touching this module.
NUMBERS = tuple(sorted(set().union(*KEYS.values()) - set(TEXTS) - set(LISTS)))
_INTEGER = re.compile(r"^-?\d{1,12}$")
_DECIMAL = re.compile(r"^-?\d{0,12}([.,]\d{1,12})?$")
_SECRET = re.compile(r"^(\S+)\s+secret_env=(\S+)$")


def _number(text: str) -> Any:
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text) and text not in ("-", ""):
        return float(text.replace(",", "."))
    return text  # the checker names the field and what it expected


def definition_from_form(values: Mapping[str, str]) -> dict[str, Any]:
    """A rule's table from the page's fields (all text): empty fields are left out (the kind's default), the
    numbers read as numbers, `stores` comma-separated, one notification target per line (`URL` or
    `URL secret_env=NAME`), one muted period per line (`2026-12-24 2026-12-26` or one day)."""
    definition: dict[str, Any] = {}
    for name in TEXTS:
        if values.get(name, "").strip():
            definition[name] = values[name].strip()
    for name in NUMBERS:
        if values.get(name, "").strip():
            definition[name] = _number(values[name].strip())
    if definition.get("kind") == "index_below" and values.get("below", "").strip() == "target":
        definition["below"] = "target"
    stores = [s.strip() for s in values.get("stores", "").split(",") if s.strip()]
    definition["stores"] = stores
    notify: list[Any] = []
    for line in values.get("notify", "").splitlines():
        line = line.strip()
        if not line:
            continue
        secret = _SECRET.match(line)
        notify.append({"url": secret.group(1), "secret_env": secret.group(2)} if secret else line)
    if notify:
        definition["notify"] = notify
    mute: list[Any] = []
    for line in values.get("mute", "").splitlines():
        days = line.split()
        if not days:
            continue
        try:
            start = dt.date.fromisoformat(days[0])
            end = dt.date.fromisoformat(days[-1])
        except ValueError:
            mute.append(line.strip())  # the checker says how to write it
            continue
        mute.append({"from": start, "to": end})
    if mute:
        definition["mute"] = mute
    return definition


def form_from_definition(definition: Mapping[str, Any]) -> dict[str, str]:
    """The page's fields for a stored rule (the inverse of `definition_from_form`)."""
    values = {name: str(definition[name]) for name in (*TEXTS, *NUMBERS) if definition.get(name) is not None}
    stores = definition.get("stores") or []
    values["stores"] = ", ".join([stores] if isinstance(stores, str) else stores)
    lines = []
    for target in definition.get("notify") or []:
        if isinstance(target, dict):
            secret = target.get("secret_env")
            lines.append(f"{target.get('url')} secret_env={secret}" if secret else str(target.get("url")))
        else:
            lines.append(str(target))
    values["notify"] = "\n".join(lines)
    values["mute"] = "\n".join(
        f"{period['from']} {period.get('to', period['from'])}" if isinstance(period, dict) else str(period)
        for period in definition.get("mute") or []
    )
    return values


# -- export: every rule, digest and webhook as an alerts file -----------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        # JSON's string escapes are all TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _table(header: str, values: Mapping[str, Any]) -> list[str]:
    first = ("name", "kind")  # a reader finds the rule by these
    keys = [k for k in first if k in values] + sorted(k for k in values if k not in first)
    return [f"[[{header}]]", *(f"{toml_key(k)} = {toml_value(values[k])}" for k in keys), ""]


def export_text(conn: Connection, now: dt.datetime) -> str:
    """Every rule (from files and from the dashboard), digest and webhook as one alerts file: what
    `set-alerts --replace-all` needs to put things back as they are."""
    lines = [
        f"# Alert rules exported {format_utc(now)}; load with: kiosk-central set-alerts --replace-all FILE",
        "",
    ]
    for found in stored_rules(conn):
        if found.source == "ui":
            lines.append("# edited on the dashboard")
        lines += _table("rule", found.definition)
    for digest in load_digests(conn):
        lines += _table(
            "digest",
            {
                "address": digest.address,
                "language": digest.language,
                "period": digest.period,
                "stores": list(digest.stores),
            },
        )
    for hook in load_webhooks(conn):
        values: dict[str, Any] = {
            "url": hook.target.url,
            "events": list(hook.events),
            "stores": list(hook.stores),
        }
        if hook.target.secret_env:
            values["secret_env"] = hook.target.secret_env
        lines += _table("webhook", values)
    return "\n".join(lines)
