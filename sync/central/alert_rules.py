"""Alert rules: the `[[rule]]` tables of an alerts file (`kiosk-central set-alerts FILE`), checked like every
file here (one `FILE:LINE: key: problem` line per problem), and their storage in `alert_rules`.

A rule is stored as the JSON of its checked table and read back through the same checker, so the file and
the database can never mean two different things.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select, update

from kiosk.config import ConfigError, Key, _Checker, key_name, locate, read_text_file, read_toml
from kiosk.domain.days import format_utc
from sync.central import directory_view
from sync.central.db import CentralDB, alert_rules, alerts, store_directory, store_groups, subscriptions

KINDS = ("negative_share", "positive_share", "index_below", "volume", "device", "followup_open")
INDICES = ("nps", "csat", "happy_index")
DEVICE_CHECKS = ("silent", "quarantined", "low_disk", "clock_skew", "unsynced")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s:/<>,]+@[^@\s:/<>,]+\.[^@\s:/<>,]+$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")

COMMON = {"name", "kind", "stores", "notify", "mute", "clear_minutes"}
KEYS = {
    "negative_share": COMMON | {"question", "share", "window_minutes", "min_answers"},
    "positive_share": COMMON | {"question", "share", "window_minutes", "min_answers"},
    "volume": COMMON | {"question", "window_minutes", "fewer_than", "more_than"},
    "index_below": COMMON | {"question", "index", "period", "below", "min_answers"},
    "device": COMMON | {"check", "minutes", "free_disk_mb", "seconds", "unsynced_minutes"},
    "followup_open": COMMON | {"hours"},
}


@dataclass(frozen=True, slots=True)
class Target:
    """One entry of `notify`: `mailto:ADDRESS`, our signed webhook (http/https), or an Apprise URL."""

    url: str
    secret_env: str | None = None

    @property
    def channel(self) -> str:
        if self.url.startswith("mailto:"):
            return "mail"
        if self.url.startswith(("http://", "https://")):
            return "webhook"
        return "apprise"

    @property
    def shown(self) -> str:
        """The target without what may be a secret (Apprise URLs carry tokens; webhook URLs may too)."""
        if self.channel == "mail":
            return self.url
        scheme, _, rest = self.url.partition("://")
        host = re.split(r"[/?#@]", rest.split("@")[-1], maxsplit=1)[0]
        return f"{scheme}://{host}/…"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    stores: tuple[str, ...]
    notify: tuple[Target, ...]
    mute: tuple[tuple[dt.date, dt.date], ...] = ()
    clear_minutes: int = 15
    question: str | None = None
    share: Fraction = Fraction(1, 2)
    window_minutes: int = 15
    min_answers: int = 4
    fewer_than: int | None = None
    more_than: int | None = None
    index: str | None = None
    period: str = "day"
    below: float | None = None
    below_target: bool = False
    check: str | None = None
    minutes: int = 30
    free_disk_mb: int = 200
    seconds: int = 120
    unsynced_minutes: int = 240  # check "unsynced": the oldest answer not yet at head office is older
    hours: int = 24

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.window_minutes)

    @property
    def clear_after(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.clear_minutes)

    def muted_on(self, day: dt.date) -> bool:
        return any(start <= day <= end for start, end in self.mute)


@dataclass(frozen=True, slots=True)
class DigestSubscription:
    """A `[[digest]]` table: who gets the daily or weekly digest of which stores, in which language."""

    address: str
    language: str
    stores: tuple[str, ...]
    period: str  # daily, weekly
    user: str | None = None  # a user's own digest (users table), not a [[digest]] table

    @property
    def key(self) -> str:
        """What `digests_sent` remembers: per user (whatever their address becomes) or per address."""
        return f"{self.period}|user:{self.user}" if self.user else f"{self.period}|{self.address}"


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A `[[webhook]]` table: an integration (CRM, BI) that gets every new answer of its stores, in batches."""

    target: Target
    events: tuple[str, ...]
    stores: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertsFile:
    rules: tuple[Rule, ...]
    definitions: tuple[dict[str, Any], ...]
    digests: tuple[DigestSubscription, ...] = ()
    webhooks: tuple[WebhookSubscription, ...] = ()


class _RuleChecker(_Checker):
    def __init__(self, strict_urls: bool = True) -> None:
        super().__init__()
        # Asking Apprise about a URL costs: done when a file is set, not each time stored rules are read.
        self.strict_urls = strict_urls

    def whole(
        self, data: Mapping[str, Any], key: Key, name: str, default: int | None, low: int, high: int
    ) -> int | None:
        value = data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail((*key, name), f"must be a whole number from {low} to {high}, not {value!r}")
            return default
        return value

    def choice(
        self, data: Mapping[str, Any], key: Key, name: str, options: Sequence[str], default: str | None
    ) -> str | None:
        value = data.get(name, default)
        if value is None:
            self.fail((*key, name), f"missing (one of {', '.join(options)})")
            return None
        if value not in options:
            self.fail((*key, name), f"must be one of {', '.join(options)}, not {value!r}")
            return None
        return str(value)


def check_target(check: _RuleChecker, raw: Any, key: Key) -> Target | None:
    secret_env = None
    if isinstance(raw, dict):
        check.table(raw, key, {"url", "secret_env"})
        secret_env = raw.get("secret_env")
        if secret_env is not None and (not isinstance(secret_env, str) or not _ENV.match(secret_env)):
            check.fail(
                (*key, "secret_env"), f"must name an environment variable like CRM_SECRET, not {secret_env!r}"
            )
            return None
        raw = raw.get("url")
    if not isinstance(raw, str) or not raw.strip():
        check.fail(key, 'must be "mailto:ADDRESS", an http(s):// webhook URL or an Apprise URL (slack://…)')
        return None
    url = raw.strip()
    if url.startswith(("mailto://", "mailtos://")):
        check.fail(
            key,
            f"write mailto:ADDRESS (sent through the server's SMTP settings), not Apprise's {url.split('//')[0]}//",
        )
        return None
    if url.startswith("mailto:"):
        if not _EMAIL.match(url[7:]):
            check.fail(key, f"{url[7:]!r} is not a mail address")
            return None
        if secret_env:
            check.fail((*key, "secret_env"), "only a webhook has a secret")
        return Target(url)
    if url.startswith(("http://", "https://")):
        if len(url) > 2000 or " " in url or not url.split("://", 1)[1].split("/")[0]:
            check.fail(key, "not a valid http(s) URL")
            return None
        return Target(url, secret_env)
    if secret_env:
        check.fail((*key, "secret_env"), "only an http(s) webhook has a secret")
    if "://" not in url or (check.strict_urls and not _apprise_accepts(url)):
        scheme = url.split("://")[0] if "://" in url else url[:20]
        check.fail(key, f"not a notification URL Apprise knows ({scheme!r}); see Apprise's list of services")
        return None
    return Target(url)


def quiet_apprise() -> None:
    """Apprise logs whole URLs (tokens included) when it refuses or fails one: never let it log."""
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)


def _apprise_accepts(url: str) -> bool:
    import apprise

    quiet_apprise()
    return bool(apprise.Apprise().add(url))


def _mute(check: _RuleChecker, raw: Any, key: Key) -> tuple[tuple[dt.date, dt.date], ...]:
    if raw is None:
        return ()
    periods = []
    if not isinstance(raw, list):
        check.fail(key, "must be a list like [{ from = 2026-12-24, to = 2026-12-26 }]")
        return ()
    for index, item in enumerate(raw):
        ikey: Key = (*key, index)
        if not isinstance(item, dict):
            check.fail(ikey, "must be a table like { from = 2026-12-24, to = 2026-12-26 }")
            continue
        check.table(item, ikey, {"from", "to"})
        start, end = item.get("from"), item.get("to", item.get("from"))
        if not all(isinstance(d, dt.date) and not isinstance(d, dt.datetime) for d in (start, end)):
            check.fail(
                ikey, "from and to must be days written 2026-12-24 (no quotes), the store's local days"
            )
            continue
        assert isinstance(start, dt.date) and isinstance(end, dt.date)
        if start > end:
            check.fail(ikey, f"from {start} is after to {end}")
            continue
        periods.append((start, end))
    return tuple(periods)


def parse_rule(check: _RuleChecker, data: Any, key: Key, known_stores: set[str] | None) -> Rule | None:
    if not isinstance(data, dict):
        check.fail(key, "must be a table")
        return None
    before = len(check.problems)
    name = check.text(data, key, "name")
    if name and not _NAME.match(name):
        check.fail((*key, "name"), "letters, digits, space, '_', '-', '.' (64 at most)")
    kind = check.choice(data, key, "kind", KINDS, None)
    if kind is None:
        return None
    check.table(data, key, KEYS[kind])
    raw_stores = data.get("stores")
    stores: list[str] = []
    if isinstance(raw_stores, str):
        raw_stores = [raw_stores]
    if not isinstance(raw_stores, list) or not raw_stores or not all(isinstance(s, str) for s in raw_stores):
        check.fail((*key, "stores"), 'must be a list of store ids or group names, or "*" for every store')
    else:
        for store in raw_stores:
            if store != "*" and known_stores is not None and store not in known_stores:
                check.fail((*key, "stores"), f"{store!r} is neither a store nor a group central knows")
            stores.append(store)
    raw_notify = data.get("notify", [])
    targets: list[Target] = []
    if not isinstance(raw_notify, list):
        check.fail((*key, "notify"), 'must be a list like ["mailto:manager@example.com", "slack://…"]')
    else:
        for index, raw in enumerate(raw_notify):
            target = check_target(check, raw, (*key, "notify", index))
            if target is not None:
                targets.append(target)
    mute = _mute(check, data.get("mute"), (*key, "mute"))
    fields: dict[str, Any] = {}
    default_window = 60 if kind == "volume" else 15
    if kind in ("negative_share", "positive_share", "volume"):
        fields["window_minutes"] = check.whole(data, key, "window_minutes", default_window, 1, 7 * 24 * 60)
    if kind in ("negative_share", "positive_share"):
        fields["question"] = check.identifier(data, key, "question")
        share = data.get("share", 0.5)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            check.fail(
                (*key, "share"), f"must be a fraction above 0 and at most 1 (0.5 is half), not {share!r}"
            )
        else:
            fields["share"] = Fraction(str(share))
        fields["min_answers"] = check.whole(data, key, "min_answers", 4, 1, 100_000)
    elif kind == "volume":
        if "question" in data:
            fields["question"] = check.identifier(data, key, "question")
        fields["fewer_than"] = check.whole(data, key, "fewer_than", None, 1, 1_000_000)
        fields["more_than"] = check.whole(data, key, "more_than", None, 0, 1_000_000)
        if "fewer_than" not in data and "more_than" not in data:
            check.fail(key, "a volume rule needs fewer_than, more_than or both")
    elif kind == "index_below":
        if "question" in data:
            fields["question"] = check.identifier(data, key, "question")
        fields["index"] = check.choice(data, key, "index", INDICES, None)
        fields["period"] = check.choice(data, key, "period", ("day", "week"), "day")
        fields["min_answers"] = check.whole(data, key, "min_answers", 10, 1, 100_000)
        below = data.get("below")
        if below == "target":
            fields["below_target"] = True
        elif isinstance(below, bool) or not isinstance(below, int | float) or not -100 <= below <= 100:
            check.fail((*key, "below"), f'must be a number from -100 to 100 or "target", not {below!r}')
        else:
            fields["below"] = float(below)
    elif kind == "device":
        fields["check"] = check.choice(data, key, "check", DEVICE_CHECKS, None)
        fields["minutes"] = check.whole(data, key, "minutes", 30, 1, 7 * 24 * 60)
        fields["free_disk_mb"] = check.whole(data, key, "free_disk_mb", 200, 1, 10_000_000)
        fields["seconds"] = check.whole(data, key, "seconds", 120, 1, 7 * 24 * 3600)
        fields["unsynced_minutes"] = check.whole(data, key, "unsynced_minutes", 240, 1, 30 * 24 * 60)
    elif kind == "followup_open":
        # A shopper's follow-up nobody has taken in hand (still "open") for `hours`.
        fields["hours"] = check.whole(data, key, "hours", 24, 1, 90 * 24)
    window = fields.get("window_minutes") or 15
    clear = check.whole(data, key, "clear_minutes", window, 0, 7 * 24 * 60)
    if len(check.problems) > before:
        return None
    return Rule(
        name=name,
        kind=kind,
        stores=tuple(stores),
        notify=tuple(targets),
        mute=mute,
        clear_minutes=clear or 0,
        **{k: v for k, v in fields.items() if v is not None},
    )


def check_alerts_text(source: str, origin: str, known_stores: set[str] | None = None) -> AlertsFile:
    """Check an alerts file; ConfigError lists every problem as `ORIGIN:LINE: key: problem`."""
    data = read_toml(source, origin)
    check = _RuleChecker()
    check.table(data, (), {"rule", "digest", "webhook"})
    raw_rules = data.get("rule", [])
    rules: list[Rule] = []
    definitions: list[dict[str, Any]] = []
    if not isinstance(raw_rules, list):
        check.fail(("rule",), "write each rule as a [[rule]] table")
        raw_rules = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            check.fail(("rule", index, "name"), f"another rule is named {name!r} (rule[{seen[name]}])")
        elif isinstance(name, str):
            seen[name] = index
        rule = parse_rule(check, raw, ("rule", index), known_stores)
        if rule is not None:
            rules.append(rule)
            definitions.append(raw)
    digests = _digests(check, data.get("digest", []), known_stores)
    webhooks = _webhooks(check, data.get("webhook", []), known_stores)
    if check.problems:
        located = [(locate(source, key) or 0, key_name(key), message) for key, message in check.problems]
        # In file order, as an editor goes through them.
        lines = [
            f"{origin}:{line}: {name}: {message}" if line else f"{origin}: {name}: {message}"
            for line, name, message in sorted(located, key=lambda item: item[0])
        ]
        raise ConfigError(lines)
    return AlertsFile(tuple(rules), tuple(definitions), tuple(digests), tuple(webhooks))


def _store_list(
    check: _RuleChecker, item: Mapping[str, Any], key: Key, known_stores: set[str] | None
) -> list[str]:
    stores = item.get("stores")
    if isinstance(stores, str):
        stores = [stores]
    if not isinstance(stores, list) or not stores or not all(isinstance(s, str) for s in stores):
        check.fail((*key, "stores"), 'must be a list of store ids or group names, or "*" for every store')
        return []
    for store in stores:
        if store != "*" and known_stores is not None and store not in known_stores:
            check.fail((*key, "stores"), f"{store!r} is neither a store nor a group central knows")
    return list(stores)


ANSWER_EVENTS = ("answers.created",)


def _webhooks(check: _RuleChecker, raw: Any, known_stores: set[str] | None) -> list[WebhookSubscription]:
    if not isinstance(raw, list):
        check.fail(("webhook",), "write each webhook as a [[webhook]] table")
        return []
    found: list[WebhookSubscription] = []
    for index, item in enumerate(raw):
        key: Key = ("webhook", index)
        if not isinstance(item, dict):
            check.fail(key, "must be a table")
            continue
        before = len(check.problems)
        check.table(item, key, {"url", "secret_env", "events", "stores"})
        target = check_target(check, {k: v for k, v in item.items() if k in ("url", "secret_env")}, key)
        if target is not None and target.channel != "webhook":
            check.fail((*key, "url"), "must be an http:// or https:// URL (our signed webhook)")
        events = item.get("events", list(ANSWER_EVENTS))
        if not isinstance(events, list) or not events or not all(e in ANSWER_EVENTS for e in events):
            check.fail((*key, "events"), f"must be a list of {', '.join(ANSWER_EVENTS)}, not {events!r}")
        stores = _store_list(check, item, key, known_stores)
        if len(check.problems) == before and target is not None:
            found.append(WebhookSubscription(target, tuple(events), tuple(stores)))
    return found


def load_webhooks(conn: Connection) -> list[WebhookSubscription]:
    found = []
    rows = conn.execute(
        select(subscriptions.c.definition)
        .where(subscriptions.c.kind == "webhook")
        .order_by(subscriptions.c.key)
    )
    for (definition,) in rows:
        data = json.loads(definition)
        found.append(
            WebhookSubscription(
                Target(data["url"], data["secret_env"]), tuple(data["events"]), tuple(data["stores"])
            )
        )
    return found


def _digests(check: _RuleChecker, raw: Any, known_stores: set[str] | None) -> list[DigestSubscription]:
    if not isinstance(raw, list):
        check.fail(("digest",), "write each digest as a [[digest]] table")
        return []
    found: list[DigestSubscription] = []
    for index, item in enumerate(raw):
        key: Key = ("digest", index)
        if not isinstance(item, dict):
            check.fail(key, "must be a table")
            continue
        before = len(check.problems)
        check.table(item, key, {"address", "language", "stores", "period"})
        address = check.text(item, key, "address")
        if address and not _EMAIL.match(address):
            check.fail((*key, "address"), f"{address!r} is not a mail address")
        language = check.choice(item, key, "language", ("fr", "en"), "en")
        period = check.choice(item, key, "period", ("daily", "weekly"), "daily")
        stores = item.get("stores")
        if isinstance(stores, str):
            stores = [stores]
        if not isinstance(stores, list) or not stores or not all(isinstance(s, str) for s in stores):
            check.fail((*key, "stores"), 'must be a list of store ids or group names, or "*" for every store')
            stores = []
        for store in stores:
            if store != "*" and known_stores is not None and store not in known_stores:
                check.fail((*key, "stores"), f"{store!r} is neither a store nor a group central knows")
        if len(check.problems) == before and language and period:
            found.append(DigestSubscription(address, language, tuple(stores), period))
    return found


def load_alerts_file(path: Path, known_stores: set[str] | None = None) -> AlertsFile:
    return check_alerts_text(
        read_text_file(path, "cannot read: No such file or directory"), str(path), known_stores
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def known_store_names(conn: Connection) -> set[str]:
    """What a rule's `stores` may name: the stores central has a configuration for, those of the store
    directory, and the directory's groups."""
    return (
        set(directory_view.all_stores(conn))
        | set(conn.execute(select(store_directory.c.store_id)).scalars())
        | set(conn.execute(select(store_groups.c.id)).scalars())
    )


def set_alerts(
    db: CentralDB, path: Path, now: dt.datetime, replace_all: bool = False, actor: str = "cli"
) -> tuple[int, int]:
    """Replace the rules that came from a file with those of `path`; returns (rules set, rules removed).

    Rules made or edited on the dashboard (source "ui") are kept, and a rule of the file named like one of
    them is an error (nothing edited on the dashboard is lost by loading an old file). With `replace_all`
    the file replaces every rule, the dashboard's included (`kiosk-central alerts export` first keeps
    them). The open alerts of a removed rule are closed (without a message). Digests and webhooks are
    always replaced."""
    with db.reading() as conn:
        known = known_store_names(conn)
        ui_rules = set(conn.execute(select(alert_rules.c.name).where(alert_rules.c.source == "ui")).scalars())
    parsed = load_alerts_file(path, known)
    if not replace_all:
        _refuse_dashboard_names(path, parsed, ui_rules)
    stamp = format_utc(now)
    with db.writing() as conn:
        query = select(alert_rules.c.name)
        if not replace_all:
            query = query.where(alert_rules.c.source == "file")
        old = set(conn.execute(query).scalars())
        new = {rule.name for rule in parsed.rules}
        removed = sorted(old - new)
        audit(
            conn,
            actor,
            "rules.set-all" if replace_all else "rules.set-file",
            str(path)[-200:],
            f"{len(parsed.rules)} rules set, removed: {', '.join(removed) or 'none'}",
        )
        if removed:
            conn.execute(delete(alert_rules).where(alert_rules.c.name.in_(removed)))
            conn.execute(
                update(alerts)
                .where(alerts.c.rule.in_(removed), alerts.c.closed_at.is_(None))
                .values(status="closed", closed_at=stamp, closed_by="rule removed", open_key=None)
            )
        for rule, definition in zip(parsed.rules, parsed.definitions, strict=True):
            values = {
                "kind": rule.kind,
                "definition": json.dumps(_jsonable(definition), ensure_ascii=False, sort_keys=True),
                "source": "file",
                "updated_at": stamp,
            }
            stmt = db.insert(alert_rules).values(name=rule.name, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
        conn.execute(delete(subscriptions))
        for digest in parsed.digests:
            settings: dict[str, Any] = {
                "address": digest.address,
                "language": digest.language,
                "stores": list(digest.stores),
                "period": digest.period,
            }
            conn.execute(
                subscriptions.insert().values(
                    key=digest.key,
                    kind="digest",
                    definition=json.dumps(settings, sort_keys=True),
                    updated_at=stamp,
                )
            )
        for index, hook in enumerate(parsed.webhooks):
            settings = {
                "url": hook.target.url,
                "secret_env": hook.target.secret_env,
                "events": list(hook.events),
                "stores": list(hook.stores),
            }
            conn.execute(
                subscriptions.insert().values(
                    key=f"webhook|{index}",
                    kind="webhook",
                    definition=json.dumps(settings, sort_keys=True),
                    updated_at=stamp,
                )
            )
    return len(parsed.rules), len(removed)


def audit(conn: Connection, actor: str, action: str, target: str, detail: str | None = None) -> None:
    """accounts.audit (imported here: accounts imports service, which imports the alert evaluation that
    imports this module)."""
    from sync.central.accounts import audit as write_audit

    write_audit(conn, actor, action, target, detail)


def _refuse_dashboard_names(path: Path, parsed: AlertsFile, ui_rules: set[str]) -> None:
    clashes = [
        (index, definition["name"])
        for index, definition in enumerate(parsed.definitions)
        if definition.get("name") in ui_rules
    ]
    if not clashes:
        return
    source = path.read_text(encoding="utf-8")
    problems = []
    for index, name in clashes:
        # The index among the rules kept is that of the file: every rule passed the checker.
        line = locate(source, ("rule", index, "name")) or 0
        problems.append(
            f"{path}:{line}: rule[{index}].name: {name!r} was made or edited on the dashboard; rename it, "
            "delete it there, or load the file with --replace-all (after `kiosk-central alerts export`)"
        )
    raise ConfigError(problems)


def load_digests(conn: Connection) -> list[DigestSubscription]:
    found = []
    for (definition,) in conn.execute(
        select(subscriptions.c.definition)
        .where(subscriptions.c.kind == "digest")
        .order_by(subscriptions.c.key)
    ):
        data = json.loads(definition)
        found.append(
            DigestSubscription(data["address"], data["language"], tuple(data["stores"]), data["period"])
        )
    return found


def load_rules(conn: Connection) -> list[Rule]:
    """Every stored rule (a definition that no longer passes the checker is skipped)."""
    rules = []
    for name, definition in conn.execute(
        select(alert_rules.c.name, alert_rules.c.definition).order_by(alert_rules.c.name)
    ):
        check = _RuleChecker(strict_urls=False)
        rule = parse_rule(check, _from_json(json.loads(definition)), ("rule", name), None)
        if rule is not None:
            rules.append(rule)
    return rules


def rule_stores(
    conn: Connection, rule: Rule | DigestSubscription | WebhookSubscription, every: Sequence[str]
) -> set[str]:
    """The store ids a rule (or digest) watches: ids, group members, or every store for "*"."""
    found: set[str] = set()
    for entry in rule.stores:
        if entry == "*":
            found.update(every)
            continue
        members = directory_view.group_stores(conn, entry)
        found.update(members if members is not None else [entry])
    return found
