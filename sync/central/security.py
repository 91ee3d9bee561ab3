"""Tokens: random (secrets), shown once, stored as a SHA-256 digest, compared in constant time.

A token is `<token id>.<secret>`: the id finds the row, the digest of the secret is compared with
hmac.compare_digest. Tokens carry 256 random bits, so a fast hash is enough (no password stretching).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str
    token_id: str
    token_hash: str


def new_token() -> NewToken:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(f"{token_id}.{secret}", token_id, digest(secret))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    token_id, dot, secret = token.partition(".")
    if not dot or not token_id or not secret or len(token) > 200:
        return None
    return token_id, secret


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_hash)
