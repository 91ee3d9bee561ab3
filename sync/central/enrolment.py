"""Enrolment: an admin adds a device and gets a one-time short code (valid 15 minutes, 5 tries, revocable);
the kiosk sends it with its store and device ids (`kiosk pair URL --code`) and receives its token.

The code never travels on a command line and is stored only as a digest. Tries are counted per code in
the database, so several server processes share the count; a code is spent by its first success.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from kiosk.domain.days import format_utc
from sync.central.accounts import audit
from sync.central.db import CentralDB, enrolment_codes
from sync.central.service import CentralError, add_device, check_id

VALID_FOR = dt.timedelta(minutes=15)
TRIES = 5
# No 0/O, 1/I/L: read aloud or typed from a phone without mistakes. 8 of 31 symbols: about 40 bits.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


@dataclass(frozen=True, slots=True)
class NewCode:
    code: str
    expires_at: str


def normalise(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())[:64]


def _digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def create_code(db: CentralDB, actor: str, store_id: str, device_id: str, now: dt.datetime) -> NewCode:
    """A new code for the device (replacing any earlier one), shown once as XXXX-XXXX."""
    check_id(store_id, "store")
    check_id(device_id, "device")
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    code = f"{raw[:4]}-{raw[4:]}"
    values: dict[str, Any] = {
        "code_hash": _digest(code),
        "created_by": actor[:64],
        "created_at": format_utc(now),
        "expires_at": format_utc(now + VALID_FOR),
        "tries_left": TRIES,
        "used_at": None,
        "revoked": False,
    }
    with db.writing() as conn:
        stmt = db.insert(enrolment_codes).values(store_id=store_id, device_id=device_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["store_id", "device_id"], set_=values))
        audit(
            conn,
            actor,
            "device.enrolment-code",
            f"{store_id}/{device_id}",
            f"valid until {values['expires_at']}",
        )
    return NewCode(code, values["expires_at"])


def revoke_code(db: CentralDB, actor: str, store_id: str, device_id: str) -> bool:
    with db.writing() as conn:
        done = conn.execute(
            update(enrolment_codes)
            .where(
                enrolment_codes.c.store_id == store_id,
                enrolment_codes.c.device_id == device_id,
                enrolment_codes.c.used_at.is_(None),
            )
            .values(revoked=True)
        )
        if done.rowcount:
            audit(conn, actor, "device.enrolment-code-revoked", f"{store_id}/{device_id}")
    return bool(done.rowcount)


def pending_codes(
    db: CentralDB, now: dt.datetime, visible: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Codes not used, revoked, expired or out of tries (without the codes: only their digests are kept)."""
    t = enrolment_codes
    with db.reading() as conn:
        rows = conn.execute(
            select(t.c.store_id, t.c.device_id, t.c.created_by, t.c.expires_at, t.c.tries_left)
            .where(t.c.used_at.is_(None), t.c.revoked.is_(False), t.c.tries_left > 0)
            .where(t.c.expires_at > format_utc(now))
            .order_by(t.c.expires_at)
        ).mappings()
        return [dict(r) for r in rows if visible is None or r["store_id"] in visible]


def redeem(db: CentralDB, store_id: str, device_id: str, code: str, now: dt.datetime) -> str:
    """The device token for a valid code (the code is then spent), or CentralError 403 with the reason."""
    t = enrolment_codes
    with db.writing() as conn:
        row = conn.execute(
            select(t).where(t.c.store_id == store_id[:64], t.c.device_id == device_id[:64])
        ).first()
        if row is None or row.revoked or row.used_at is not None:
            raise CentralError(403, "no enrolment code is waiting for this device (ask head office for one)")
        if row.expires_at <= format_utc(now):
            raise CentralError(
                403, "this enrolment code has expired (codes last 15 minutes): ask for a new one"
            )
        if row.tries_left <= 0:
            raise CentralError(403, "too many wrong codes for this device: ask head office for a new one")
        wrong = not hmac.compare_digest(row.code_hash, _digest(code))
        if wrong:
            # Committed when this block ends (raising inside it would roll the count back).
            conn.execute(
                update(t)
                .where(t.c.store_id == row.store_id, t.c.device_id == row.device_id)
                .values(tries_left=t.c.tries_left - 1)
            )
    if wrong:
        left = row.tries_left - 1
        raise CentralError(403, f"wrong enrolment code ({left} {'try' if left == 1 else 'tries'} left)")
    with db.writing() as conn:
        spent = conn.execute(
            update(t)
            .where(t.c.store_id == row.store_id, t.c.device_id == row.device_id, t.c.used_at.is_(None))
            .where(t.c.code_hash == row.code_hash, t.c.revoked.is_(False), t.c.tries_left > 0)
            .values(used_at=format_utc(now))
        )
        if not spent.rowcount:  # another process spent it a moment ago
            raise CentralError(403, "this enrolment code was just used")
        audit(conn, f"device:{store_id}/{device_id}", "device.enrolled", f"{store_id}/{device_id}")
    return add_device(db, store_id, device_id)
