"""Personal data of follow-ups: checking and normalising a contact, encrypting it, hashing it for look-ups.

Contact details (a name, an e-mail address or a phone number) are stored only encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under the keys of `KIOSK_CENTRAL_CONTACT_KEY`, newest first: MultiFernet
decrypts with any of them and encrypts with the first, so a key is rotated by putting a new one first and
running `kiosk-central rotate-contact-key`. Erasure finds a person's rows through `contact_hash`, an
HMAC-SHA256 of the normalised address under a key derived from each Fernet key (so the look-up works
before and after a rotation, which recomputes the hashes under the new key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

EMAIL = "email"
PHONE = "phone"
MAX_CONTACT = 254
MAX_NAME = 100
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE_PUNCTUATION = re.compile(r"[\s.\-()/]")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


class ContactError(ValueError):
    """A contact that is neither an e-mail address nor a phone number; the message is the reason."""


class ContactKeyError(ValueError):
    """A contact key setting that cannot be used (not a Fernet key)."""


@dataclass(frozen=True, slots=True)
class Contact:
    kind: str  # EMAIL or PHONE
    normalised: str


def normalise_contact(text: str) -> Contact:
    """An e-mail address (lower case) or a phone number (digits, a leading + kept; 00 read as +)."""
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        raise ContactError("empty")
    if len(value) > MAX_CONTACT:
        raise ContactError("too long")
    if "@" in value:
        address = value.lower()
        if not _EMAIL.match(address):
            raise ContactError("not an e-mail address")
        return Contact(EMAIL, address)
    number = _PHONE_PUNCTUATION.sub("", value)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _PHONE.match(number):
        raise ContactError("not a phone number")
    return Contact(PHONE, number)


class ContactKeys:
    """The configured Fernet keys: encrypt, decrypt, and the keyed hashes of a normalised contact."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ContactKeyError("no contact key configured (KIOSK_CENTRAL_CONTACT_KEY)")
        try:
            self._fernets = [Fernet(key.encode("ascii")) for key in keys]
        except (ValueError, UnicodeEncodeError):
            raise ContactKeyError(
                "KIOSK_CENTRAL_CONTACT_KEY must hold Fernet keys (32 url-safe base64 bytes), comma-separated;"
                " make one with `kiosk-central rotate-contact-key --new-key`"
            ) from None
        self._multi = MultiFernet(self._fernets)
        self._hash_keys = [
            hmac.new(key.encode("ascii"), b"kiosk-central contact hash", hashlib.sha256).digest()
            for key in keys
        ]

    def encrypt(self, text: str) -> str:
        return self._multi.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The clear text; InvalidToken when none of the configured keys made it."""
        return self._multi.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: str) -> str:
        """The same text encrypted under the newest key."""
        return self._multi.rotate(token.encode("ascii")).decode("ascii")

    def contact_hash(self, normalised: str) -> str:
        """The hash stored with a contact (under the newest key)."""
        return self.hashes(normalised)[0]

    def hashes(self, normalised: str) -> list[str]:
        """The hash under every configured key (erasure looks for all: rows made before a rotation)."""
        return [hmac.new(k, normalised.encode("utf-8"), hashlib.sha256).hexdigest() for k in self._hash_keys]

    def pseudonym(self, purpose: str, text: str) -> str:
        """A keyed hash for short-lived bookkeeping (rate-limit buckets of client addresses)."""
        return hmac.new(self._hash_keys[0], f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


__all__ = [
    "EMAIL",
    "PHONE",
    "Contact",
    "ContactError",
    "ContactKeyError",
    "ContactKeys",
    "InvalidToken",
    "new_key",
    "normalise_contact",
]
