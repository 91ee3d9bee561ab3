"""Head-office people: users (argon2 password hashes, role and scope, language, e-mail), login with
lockout, disabling, password resets, ending sessions, and the audit log every change writes to.

Lockout state lives in the database, so it holds across several server processes. A session cookie carries
the user's `session_epoch`; bumping it (reset, disable, "end sessions") ends every session at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, case, insert, select, update

from kiosk.domain.days import format_utc
from sync.central.db import CentralDB, audit_log, login_throttle, store_directory, store_groups, stores, users
from sync.central.service import CentralError, check_id

ROLES = ("admin", "viewer", "manager")
DIGEST_CHOICES = ("both", "daily", "weekly", "none")
LANGUAGES = ("en", "fr")
LOCK_AFTER = 5
LOCK_FOR = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")

hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = hasher.hash("not a password of anyone")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    group_id: str | None
    store_id: str | None
    email: str | None
    language: str
    disabled: bool
    session_epoch: int
    digests: str = "both"  # both, daily, weekly, none (DIGEST_CHOICES)

    @property
    def digest_periods(self) -> tuple[str, ...]:
        """The digests this user gets: ("daily", "weekly"), one of them, or none."""
        return {"both": ("daily", "weekly"), "daily": ("daily",), "weekly": ("weekly",)}.get(self.digests, ())


class LoginError(Exception):
    """A refused login; the message is safe to show (it never says whether the name exists)."""


def _user(row: Any) -> User:
    return User(
        row.name,
        row.role,
        row.group_id,
        row.store_id,
        row.email,
        row.language,
        bool(row.disabled),
        int(row.session_epoch),
        row.digests,
    )


def audit(conn: Connection, actor: str, action: str, target: str, detail: str | None = None) -> None:
    """One line of the audit log (who, what, when), in the transaction of the change it records."""
    conn.execute(
        insert(audit_log).values(
            at=format_utc(dt.datetime.now(dt.UTC)),
            actor=actor[:64],
            action=action[:64],
            target=target[:200],
            detail=detail,
        )
    )


def check_scope(conn: Connection, role: str, group: str | None, store: str | None) -> None:
    if role not in ROLES:
        raise CentralError(400, f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if group and store:
        raise CentralError(400, "a scope is a group or a store, not both")
    if role == "manager" and not (group or store):
        raise CentralError(400, "a manager needs --store S or --group G")
    if role == "admin" and (group or store):
        raise CentralError(400, "an admin sees every store (no --group or --store)")
    if group and conn.execute(select(store_groups.c.id).where(store_groups.c.id == group)).first() is None:
        raise CentralError(400, f"no group {group!r} in the store directory (kiosk-central set-stores)")
    if store:
        known = (
            conn.execute(select(stores.c.id).where(stores.c.id == store)).first()
            or conn.execute(
                select(store_directory.c.store_id).where(store_directory.c.store_id == store)
            ).first()
        )
        if known is None:
            raise CentralError(400, f"no store {store!r}")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise CentralError(400, f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise CentralError(400, f"a password has at most {MAX_PASSWORD} characters")
    return password


def add_user(
    db: CentralDB,
    actor: str,
    name: str,
    role: str,
    password: str,
    *,
    group: str | None = None,
    store: str | None = None,
    email: str | None = None,
    language: str = "en",
) -> User:
    check_id(name, "user")
    check_password(password)
    if email and not _EMAIL.match(email):
        raise CentralError(400, f"not an e-mail address: {email!r}")
    if language not in LANGUAGES:
        raise CentralError(400, f"language must be one of {', '.join(LANGUAGES)}")
    password_hash = hasher.hash(password)
    with db.writing() as conn:
        check_scope(conn, role, group, store)
        if conn.execute(select(users.c.name).where(users.c.name == name)).first() is not None:
            raise CentralError(409, f"user {name!r} exists (reset its password instead)")
        conn.execute(
            insert(users).values(
                name=name,
                email=email or None,
                language=language,
                role=role,
                group_id=group or None,
                store_id=store or None,
                password_hash=password_hash,
                disabled=False,
                session_epoch=0,
                failed_logins=0,
                created_at=format_utc(dt.datetime.now(dt.UTC)),
            )
        )
        scope = f"group {group}" if group else f"store {store}" if store else "every store"
        audit(conn, actor, "user.add", name, f"role {role}, {scope}")
    return get_user(db, name)  # type: ignore[return-value]


def get_user(db: CentralDB, name: str) -> User | None:
    with db.reading() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return None if row is None else _user(row)


def list_users(db: CentralDB) -> list[User]:
    with db.reading() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]


def login(db: CentralDB, name: str, password: str, now: dt.datetime) -> User:
    """The user whose password this is, or LoginError. After LOCK_AFTER failures in a row the account is
    locked for LOCK_FOR (the counter lives in the database: every server process sees it)."""
    with db.reading() as conn:
        row = conn.execute(select(users).where(users.c.name == name[:64])).first()
    if row is None or len(password) > MAX_PASSWORD:
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        raise LoginError("wrong name or password")
    if row.locked_until and row.locked_until > format_utc(now):
        raise LoginError("too many failed attempts: try again in 15 minutes")
    try:
        hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        with db.writing() as conn:
            failures = int(
                conn.execute(
                    update(users)
                    .where(users.c.name == row.name)
                    .values(failed_logins=users.c.failed_logins + 1)
                    .returning(users.c.failed_logins)
                ).scalar_one()
            )
            if failures >= LOCK_AFTER:
                conn.execute(
                    update(users)
                    .where(users.c.name == row.name)
                    .values(failed_logins=0, locked_until=format_utc(now + LOCK_FOR))
                )
                audit(conn, row.name, "user.locked", row.name, f"{failures} failed logins")
        raise LoginError("wrong name or password") from None
    if row.disabled:
        raise LoginError("this account is disabled")
    with db.writing() as conn:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = hasher.hash(password)
        conn.execute(update(users).where(users.c.name == row.name).values(**values))
        audit(conn, row.name, "user.login", row.name)
    return _user(row)


def _change(db: CentralDB, actor: str, name: str, action: str, **values: Any) -> None:
    with db.writing() as conn:
        done = conn.execute(
            update(users)
            .where(users.c.name == name)
            .values(session_epoch=users.c.session_epoch + 1, **values)
        )
        if not done.rowcount:
            raise CentralError(404, f"no user {name!r}")
        audit(conn, actor, action, name)


def set_disabled(db: CentralDB, actor: str, name: str, disabled: bool) -> None:
    """Disable (or enable) a user; disabling ends its sessions."""
    _change(db, actor, name, "user.disable" if disabled else "user.enable", disabled=disabled)


def reset_password(db: CentralDB, actor: str, name: str, password: str) -> None:
    """Set a new password and end the user's sessions (and lift a lockout)."""
    check_password(password)
    _change(
        db,
        actor,
        name,
        "user.reset-password",
        password_hash=hasher.hash(password),
        failed_logins=0,
        locked_until=None,
    )


def set_digests(db: CentralDB, actor: str, name: str, digests: str) -> None:
    """Which digests a user gets by mail (an admin for anyone, a user for themselves); sessions stay."""
    if digests not in DIGEST_CHOICES:
        raise CentralError(400, f"digests: one of {', '.join(DIGEST_CHOICES)}, not {digests!r}")
    with db.writing() as conn:
        done = conn.execute(update(users).where(users.c.name == name).values(digests=digests))
        if not done.rowcount:
            raise CentralError(404, f"no user {name!r}")
        audit(conn, actor, "user.digests", name, digests)


def end_sessions(db: CentralDB, actor: str, name: str) -> None:
    _change(db, actor, name, "user.end-sessions")


def audit_entries(db: CentralDB, limit: int = 200) -> list[dict[str, Any]]:
    with db.reading() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]


# -- per-address limit (a guesser trying many names from one place) ----------------------------------------

ADDRESS_FAILURES = 20
ADDRESS_WINDOW = dt.timedelta(minutes=15)


def check_address(db: CentralDB, address: str, now: dt.datetime) -> None:
    """LoginError when this client address failed ADDRESS_FAILURES sign-ins in the current window. The
    address is the peer's, or a trusted proxy's X-Forwarded-For only when `serve --trusted-proxy` says so."""
    with db.reading() as conn:
        row = conn.execute(select(login_throttle).where(login_throttle.c.address == address[:64])).first()
    if row is None or row.window_start <= format_utc(now - ADDRESS_WINDOW):
        return
    if row.failures >= ADDRESS_FAILURES:
        raise LoginError("too many failed sign-ins from this address: try again in 15 minutes")


def record_address_failure(db: CentralDB, address: str, now: dt.datetime) -> None:
    """Count a failed sign-in from `address` (a new window when the last one is over)."""
    stale = format_utc(now - ADDRESS_WINDOW)
    with db.writing() as conn:
        stmt = db.insert(login_throttle).values(
            address=address[:64], window_start=format_utc(now), failures=1
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["address"],
                set_={
                    "failures": case(
                        (login_throttle.c.window_start <= stale, 1), else_=login_throttle.c.failures + 1
                    ),
                    "window_start": case(
                        (login_throttle.c.window_start <= stale, format_utc(now)),
                        else_=login_throttle.c.window_start,
                    ),
                },
            )
        )
