"""The manager PIN: stored as a salted scrypt hash in its own file of the data directory (mode 0600).

It is kept out of kiosk.toml so that the configuration can be copied between stores, shown on a screen or
sent to support without giving the PIN away. Checking takes a few tens of milliseconds on purpose (scrypt),
which is nothing for a person at the pad and a lot for someone guessing offline.

Wrong PINs are counted in a second file (`manager-pin-lockout.json`), so that the lockout and its growing
delays survive a restart or a new configuration: from the fifth wrong PIN in a row, each one locks the pad,
for 60 s, then 120 s, 240 s... up to an hour. The right PIN, or `kiosk set-pin`, clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PIN_FILE = "manager-pin.json"
LOCKOUT_FILE = "manager-pin-lockout.json"
FREE_TRIES = 4
FIRST_LOCK_S = 60.0
LONGEST_LOCK_S = 3600.0
_PIN = re.compile(r"^[0-9]{4,8}$")
# scrypt cost: n=2**14, r=8 (about 16 MB and 30-60 ms on a Raspberry Pi 4).
_N, _R, _P = 2**14, 8, 1


class PinError(ValueError):
    """A PIN that cannot be used, or a PIN file that cannot be read; the message is one line."""


def check_pin_format(pin: str) -> str:
    if not _PIN.match(pin):
        raise PinError("the PIN must be 4 to 8 digits")
    return pin


@dataclass(frozen=True, slots=True)
class PinHash:
    salt: bytes
    digest: bytes
    n: int = _N
    r: int = _R
    p: int = _P

    @classmethod
    def create(cls, pin: str) -> PinHash:
        salt = secrets.token_bytes(16)
        return cls(salt=salt, digest=_scrypt(check_pin_format(pin), salt, _N, _R, _P))

    def matches(self, pin: str) -> bool:
        return hmac.compare_digest(self.digest, _scrypt(pin, self.salt, self.n, self.r, self.p))

    def to_json(self) -> str:
        return json.dumps(
            {
                "scheme": "scrypt",
                "n": self.n,
                "r": self.r,
                "p": self.p,
                "salt": self.salt.hex(),
                "hash": self.digest.hex(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PinHash:
        try:
            data = json.loads(text)
            if data.get("scheme") != "scrypt":
                raise ValueError("unknown scheme")
            return cls(
                salt=bytes.fromhex(data["salt"]),
                digest=bytes.fromhex(data["hash"]),
                n=int(data["n"]),
                r=int(data["r"]),
                p=int(data["p"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PinError(f"unreadable PIN file ({error}); set the PIN again with `kiosk set-pin`") from None


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def pin_path(data_dir: Path) -> Path:
    return data_dir / PIN_FILE


def save_pin(data_dir: Path, pin: str) -> Path:
    """Hash and store the PIN (mode 0600, replaced atomically); a lockout in force ends."""
    hashed = PinHash.create(pin)
    path = pin_path(data_dir)
    _write_private(path, hashed.to_json())
    pin_path(data_dir).with_name(LOCKOUT_FILE).unlink(missing_ok=True)
    return path


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_pin(data_dir: Path) -> PinHash | None:
    """The stored PIN hash, or None when no PIN was ever set."""
    try:
        return PinHash.from_json(pin_path(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PinError(f"{pin_path(data_dir)}: cannot read: {error.strerror}") from None


# -- the lockout after wrong PINs ---------------------------------------------------------------------------


def lock_seconds(failures: int) -> float:
    """How long the pad stays locked after `failures` wrong PINs in a row (0: not locked)."""
    if failures <= FREE_TRIES:
        return 0.0
    return float(min(LONGEST_LOCK_S, FIRST_LOCK_S * 2 ** min(failures - FREE_TRIES - 1, 16)))


@dataclass(frozen=True, slots=True)
class Lockout:
    """Wrong PINs in a row and when the pad opens again (wall-clock epoch seconds)."""

    failures: int = 0
    locked_until: float = 0.0


def load_lockout(data_dir: Path) -> Lockout:
    """The stored lockout; none when the file is missing. A damaged file counts as the last free try used,
    so that deleting or spoiling it never gives more guesses."""
    path = data_dir / LOCKOUT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Lockout(int(data["failures"]), float(data["locked_until"]))
    except FileNotFoundError:
        return Lockout()
    except (OSError, ValueError, KeyError, TypeError):
        return Lockout(failures=FREE_TRIES)


def save_lockout(data_dir: Path, lockout: Lockout) -> None:
    path = data_dir / LOCKOUT_FILE
    if lockout == Lockout():
        path.unlink(missing_ok=True)
        return
    _write_private(path, json.dumps({"failures": lockout.failures, "locked_until": lockout.locked_until}))


@dataclass(frozen=True, slots=True)
class PinState:
    """The PIN as the file says now: its check, or why there is none (missing, or unreadable)."""

    verify: Callable[[str], bool] | None
    problem: str | None = None


def read_pin_state(data_dir: Path) -> PinState:
    """Never raises: a missing, empty or damaged file is a state the manager screen explains."""
    try:
        pin = load_pin(data_dir)
    except PinError as error:
        return PinState(None, str(error))
    return PinState(None if pin is None else pin.matches)
