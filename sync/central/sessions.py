"""Signed session cookies and CSRF tokens, with one key shared by every server process.

A session cookie holds the user's name and the `session_epoch` it was issued under, signed and timestamped
(itsdangerous); nothing is kept in process memory, so any process serves any request. Each request checks
the epoch against the database, so disabling a user or "end sessions" takes effect at once everywhere.

CSRF: a random nonce in its own HttpOnly cookie; every form carries HMAC(key, nonce | user) in a hidden
field `csrf_token`. Another site can make the browser send the cookie but cannot read it, so it cannot
write the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "kc_session"
CSRF_COOKIE = "kc_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class SessionData:
    user: str
    epoch: int


class Signer:
    def __init__(self, key: str) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="kiosk-central.session")
        self._csrf_key = hashlib.sha256(b"kiosk-central.csrf|" + key.encode()).digest()

    def session_cookie(self, user: str, epoch: int) -> str:
        return self._serializer.dumps({"u": user, "e": epoch})

    def read_session(self, value: str | None) -> SessionData | None:
        if not value or len(value) > 4096:
            return None
        try:
            data = self._serializer.loads(value, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), str)
            or not isinstance(data.get("e"), int)
        ):
            return None
        return SessionData(data["u"], data["e"])

    def csrf_token(self, nonce: str, user: str) -> str:
        return hmac.new(self._csrf_key, f"{nonce}|{user}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, nonce: str | None, user: str, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(nonce, user), token)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
