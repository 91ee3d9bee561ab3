"""The follow-up token in the QR code a kiosk shows after a low score: made offline, checked by central.

A token is 39 bytes written in unpadded base64url (52 characters):

    version (1) | key id (4) | visit id (16, a UUID) | language (2, ASCII) | expires (4, Unix seconds) | tag (12)

The tag is HMAC-SHA256 over the first 27 bytes with the device's follow-up secret (agreed at pairing: central
makes it and hands it to the device over its authenticated API), cut to 96 bits. The key id names the device
(one key per device; central maps it to the store and the device), so the token names store, device, visit
and language without carrying their texts, and stays one length whatever the ids are: a short URL gives a
coarse QR code that scans from a metre. Forging a tag is a 2^-96 guess per try, and central rate-limits tries.

Pure: no IO, the time is passed in.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import struct
import uuid
from dataclasses import dataclass

VERSION = 1
KEY_ID_BYTES = 4
TAG_BYTES = 12
_BODY = struct.Struct(">B4s16s2sI")
TOKEN_BYTES = _BODY.size + TAG_BYTES
TOKEN_CHARS = (TOKEN_BYTES * 4 + 2) // 3
DEFAULT_TTL = dt.timedelta(hours=2)
SECRET_MIN_BYTES = 16
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_TOKEN_TEXT = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenError(Exception):
    """The token cannot be used; `reason` is "malformed", "forged" or "expired". An expired token's tag was
    good, so its `claims` are given (the page can answer in the shopper's language)."""

    def __init__(self, reason: str, claims: FollowupClaims | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims


@dataclass(frozen=True, slots=True)
class FollowupClaims:
    """What a valid token says: the device's key id, the visit, the shopper's language and the expiry."""

    key_id: str  # 8 hex digits
    session_id: str  # the visit's UUID, lower case
    language: str
    expires_at: dt.datetime


def make_token(
    secret: bytes,
    key_id: str,
    session_id: str,
    language: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> str:
    """A token for one visit, valid until `now + ttl`. ValueError for a session that is not a UUID, a
    language that is not two lower-case letters, a key id that is not 8 hex digits or a short secret."""
    if len(secret) < SECRET_MIN_BYTES:
        raise ValueError(f"the secret must hold at least {SECRET_MIN_BYTES} bytes")
    key = bytes.fromhex(key_id)
    if len(key) != KEY_ID_BYTES:
        raise ValueError("the key id must be 8 hex digits")
    visit = uuid.UUID(session_id).bytes
    if not _LANGUAGE.match(language):
        raise ValueError(f"language {language!r} is not two lower-case letters")
    expires = int((now + ttl).timestamp())
    if not 0 < expires < 2**32:
        raise ValueError("expiry out of range")
    body = _BODY.pack(VERSION, key, visit, language.encode("ascii"), expires)
    return _b64(body + _tag(secret, body))


def read_key_id(token: str) -> str:
    """The key id of a well-formed token (to find the secret), before its tag is checked."""
    return _unpack(token)[1].hex()


def verify_token(token: str, secret: bytes, now: dt.datetime) -> FollowupClaims:
    """The claims of a token made with `secret` and not expired at `now`, or TokenError."""
    version, key, visit, language, expires, tag = _unpack(token)
    body = _BODY.pack(version, key, visit, language, expires)
    if not hmac.compare_digest(tag, _tag(secret, body)):
        raise TokenError("forged")
    # Checked after the tag: an attacker learns nothing from a forged token's claims.
    text = language.decode("ascii", "replace")
    if not _LANGUAGE.match(text):
        raise TokenError("malformed")
    claims = FollowupClaims(
        key.hex(), str(uuid.UUID(bytes=visit)), text, dt.datetime.fromtimestamp(expires, dt.UTC)
    )
    if now >= claims.expires_at:
        raise TokenError("expired", claims)
    return claims


def _unpack(token: str) -> tuple[int, bytes, bytes, bytes, int, bytes]:
    if len(token) != TOKEN_CHARS or not _TOKEN_TEXT.match(token):
        raise TokenError("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None
    # Only one text per token: unused low bits of the last character must be zero (else two spellings).
    if len(raw) != TOKEN_BYTES or _b64(raw) != token:
        raise TokenError("malformed")
    version, key, visit, language, expires = _BODY.unpack(raw[: _BODY.size])
    if version != VERSION:
        raise TokenError("malformed")
    return version, key, visit, language, expires, raw[_BODY.size :]


def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, b"kiosk-followup:" + body, hashlib.sha256).digest()[:TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
